/**
 * Splits the control connection's bytes into command lines. TCP delivers a byte stream, not
 * commands: one read may hold half a command or several, so bytes wait here until their line ends
 * (ftp-srv splits each read on its own and misreads a command cut in two). Telnet IAC sequences
 * (lftp sends `IAC IP IAC DM` before ABOR) are dropped, a lone LF ends a line like CRLF, and a
 * line longer than the limit is discarded up to its end and reported once.
 */

const IAC = 0xff;
const LF = 0x0a;
const CR = 0x0d;
/** WILL, WONT, DO, DONT: the only Telnet commands followed by an option byte. */
const FIRST_OPTION_COMMAND = 0xfb;
/** SE..DONT: Telnet commands (IP = 0xf4, DM = 0xf2). */
const FIRST_TELNET_COMMAND = 0xf0;

export interface LineSink {
  line(text: string): void;
  /** A line longer than the limit was dropped (reported when its end arrives, or at once). */
  overlong(): void;
}

export class ControlLineReader {
  readonly #max: number;
  readonly #sink: LineSink;
  #buffer: Buffer;
  #length = 0;
  #discarding = false;
  /** Telnet state carried across reads: 0 none, 1 after IAC, 2 after IAC WILL/WONT/DO/DONT. */
  #telnet = 0;

  constructor(maxLength: number, sink: LineSink) {
    this.#max = maxLength;
    this.#sink = sink;
    this.#buffer = Buffer.allocUnsafe(Math.min(maxLength, 512));
  }

  push(chunk: Buffer): void {
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i] as number;
      if (this.#telnet === 1) {
        this.#telnet = byte >= FIRST_OPTION_COMMAND && byte !== IAC ? 2 : 0;
        // IAC IAC is a literal 0xFF; any other command byte is dropped with its IAC.
        if (byte === IAC) this.#append(byte);
        else if (byte < FIRST_TELNET_COMMAND) this.#accept(byte);
        continue;
      }
      if (this.#telnet === 2) {
        this.#telnet = 0;
        continue;
      }
      if (byte === IAC) {
        this.#telnet = 1;
        continue;
      }
      this.#accept(byte);
    }
  }

  /** Forgets what is buffered: after AUTH TLS, plaintext sent behind the command must not count. */
  reset(): void {
    this.#length = 0;
    this.#discarding = false;
    this.#telnet = 0;
  }

  #accept(byte: number): void {
    if (byte !== LF) {
      this.#append(byte);
      return;
    }
    if (this.#discarding) {
      this.#discarding = false;
      this.#length = 0;
      return;
    }
    let end = this.#length;
    if (end > 0 && this.#buffer[end - 1] === CR) end--;
    const text = this.#buffer.toString('utf8', 0, end);
    this.#length = 0;
    this.#sink.line(text);
  }

  #append(byte: number): void {
    if (this.#discarding) return;
    if (this.#length >= this.#max) {
      this.#discarding = true;
      this.#length = 0;
      this.#sink.overlong();
      return;
    }
    if (this.#length === this.#buffer.length) {
      const grown = Buffer.allocUnsafe(Math.min(this.#max, this.#buffer.length * 2));
      this.#buffer.copy(grown, 0, 0, this.#length);
      this.#buffer = grown;
    }
    this.#buffer[this.#length++] = byte;
  }
}
