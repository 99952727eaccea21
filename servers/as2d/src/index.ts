// The public surface of @ferry/as2d: the component, its config section, and the AS2 sender library.
export { As2d, createAs2d } from './as2d.js';
export { as2dSection, DEFAULT_MAX_MESSAGE_SIZE, type As2dConfig, type PartnerConfig } from './config.js';
export { loadTradingSetup, StorePartners, type TradingPartner, type TradingSetup } from './partners.js';
export { sendMessage, type SendOptions, type SendResult, type SendStatus } from './as2/sender.js';
export { AS2_VERSION, quoteAs2Id } from './as2/as2-headers.js';
export { As2Failure, FAILURE_KINDS, type As2FailureKind } from './as2/errors.js';
export {
  DIGEST_NAMES,
  ENCRYPTION_NAMES,
  KEY_TRANSPORT_NAMES,
  parseDigestName,
  type DigestName,
  type EncryptionName,
  type KeyTransportName,
} from './as2/algorithms.js';
export { parseCertificate, parsePrivateKey, type Certificate, type Identity } from './as2/certificates.js';
export { formatMic, parseMic, type Mic } from './as2/mic.js';
export { MimeHeaders, type Entity, type HeaderList } from './as2/mime.js';
export { pack, type PackOptions, type PackedMessage, type CompressionOrder } from './as2/pack.js';
export { unpack, type UnpackOptions, type Unpacked, type UnpackTrace, type Wrapping } from './as2/unpack.js';
export {
  buildReport,
  formatDisposition,
  isPositive,
  mdnMessage,
  mdnRequestOf,
  newMessageId,
  parseDisposition,
  readReport,
  type Disposition,
  type MdnReport,
  type MdnRequest,
} from './as2/mdn.js';
