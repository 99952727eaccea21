import { FerryError, isFerryError, type ErrorCode } from '@ferry/core';
import type { FastifyError, FastifyInstance } from 'fastify';

/**
 * FerryError codes as HTTP statuses, in this one place. A code not listed is a server-side failure
 * (500), still reported with its code so that the operator can look it up.
 */
const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  FERRY_ERR_BAD_REQUEST: 400,
  FERRY_ERR_CONFIG_INVALID: 400,
  FERRY_ERR_UNAUTHORIZED: 401,
  FERRY_ERR_NOT_FOUND: 404,
  FERRY_ERR_UNKNOWN_COMPONENT: 404,
  FERRY_ERR_ACCOUNT_NOT_FOUND: 404,
  FERRY_ERR_ACCOUNT_EXISTS: 409,
  FERRY_ERR_LIFECYCLE_TRANSITION: 409,
  FERRY_ERR_TOO_LARGE: 413,
};

export function httpStatusOf(code: ErrorCode): number {
  return STATUS_BY_CODE[code] ?? 500;
}

/** What every error response carries. */
export interface ErrorBody {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

/**
 * The code of a failure that is not a FerryError (a bug, or a dependency that threw something
 * untyped). It is not in core's ERROR_CODES because nothing raises it on purpose.
 */
export const INTERNAL_ERROR_CODE: ErrorCode = 'FERRY_ERR_INTERNAL';

function fromFerryError(err: FerryError): { status: number; body: ErrorBody } {
  const body: ErrorBody = { code: err.code, message: err.message };
  if (Object.keys(err.details).length > 0) body.details = err.details;
  return { status: httpStatusOf(err.code), body };
}

/** fastify's own client errors: schema validation, bad JSON, wrong content type, body too large. */
function fromFastifyError(err: FastifyError): { status: number; body: ErrorBody } | undefined {
  if (err.validation) {
    // Paths and rules only: ajv's messages never echo the rejected value, so no password leaks here.
    const problems = err.validation.map((issue) => ({
      path: `${err.validationContext ?? ''}${issue.instancePath}`,
      message: issue.message ?? 'is not valid',
      ...(issue.params && Object.keys(issue.params).length > 0 ? { rule: issue.params } : {}),
    }));
    return { status: 400, body: { code: 'FERRY_ERR_BAD_REQUEST', message: err.message, details: { problems } } };
  }
  const status = err.statusCode;
  if (status === undefined || status < 400 || status >= 500) return undefined;
  if (status === 413) return { status, body: { code: 'FERRY_ERR_TOO_LARGE', message: err.message } };
  return { status, body: { code: 'FERRY_ERR_BAD_REQUEST', message: err.message } };
}

/** Every error leaves the API as `{ code, message, details? }` with the status of its code. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const mapped = isFerryError(err) ? fromFerryError(err) : fromFastifyError(err);
    if (mapped) {
      if (mapped.status >= 500) request.log.error({ err, route: request.routeOptions.url }, `admin API: ${mapped.body.message}`);
      return reply.status(mapped.status).send(mapped.body);
    }
    request.log.error({ err, route: request.routeOptions.url }, 'admin API: unexpected failure');
    return reply.status(500).send({ code: INTERNAL_ERROR_CODE, message: 'internal error; the node log has the details' });
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? request.url;
    return reply.status(404).send({ code: 'FERRY_ERR_NOT_FOUND', message: `no route ${request.method} ${path}` });
  });
}
