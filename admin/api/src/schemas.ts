import { LIFECYCLE_STATES } from '@ferry/core';
import type { FastifyInstance } from 'fastify';

/**
 * The JSON schemas shared by the routes. They are registered once with `addSchema` so that the
 * OpenAPI document names them under `components.schemas`, and they double as response serializers:
 * a property not listed here never reaches a client (an account's password hash cannot leak).
 */

const nullable = (type: string) => ({ type: [type, 'null'] });
const isoTime = { type: 'string', format: 'date-time' };
const nullableIsoTime = { type: ['string', 'null'], format: 'date-time' };

export const ErrorBody = {
  $id: 'ErrorBody',
  type: 'object',
  description: 'Every error response.',
  required: ['code', 'message'],
  properties: {
    code: { type: 'string', description: 'A stable FERRY_ERR_* code.' },
    message: { type: 'string' },
    details: { type: 'object', additionalProperties: true },
  },
};

export const ListeningAddress = {
  $id: 'ListeningAddress',
  type: 'object',
  required: ['name', 'address', 'port'],
  properties: { name: { type: 'string' }, address: { type: 'string' }, port: { type: 'integer' } },
};

export const TransferSnapshot = {
  $id: 'TransferSnapshot',
  type: 'object',
  description: 'One running transfer.',
  required: ['id', 'component', 'protocol', 'path', 'direction', 'bytes', 'offset', 'startedAt', 'rate'],
  properties: {
    id: { type: 'string' },
    component: { type: 'string' },
    protocol: { type: 'string' },
    account: nullable('string'),
    remoteAddress: nullable('string'),
    path: { type: 'string' },
    direction: { type: 'string', enum: ['upload', 'download'] },
    bytes: { type: 'integer', description: 'Moved by this transfer so far, not counting a resume offset.' },
    offset: { type: 'integer' },
    size: nullable('integer'),
    startedAt: isoTime,
    rate: { type: 'number', description: 'Bytes per second.' },
    etaSeconds: nullable('integer'),
    sessionId: nullable('string'),
  },
};

export const ComponentView = {
  $id: 'ComponentView',
  type: 'object',
  required: ['id', 'state', 'enabled', 'restarts', 'transfers', 'listening'],
  properties: {
    id: { type: 'string' },
    state: { type: 'string', enum: [...LIFECYCLE_STATES] },
    enabled: { type: 'boolean' },
    pid: nullable('integer'),
    startedAt: nullableIsoTime,
    restarts: { type: 'integer', description: 'Restarts by the monitor since the node started.' },
    restartAt: { ...nullableIsoTime, description: 'When the monitor restarts it after an unexpected exit.' },
    drainDeadline: { ...nullableIsoTime, description: 'When the running drain cuts what is left.' },
    afterDrain: { type: ['string', 'null'], enum: ['stop', 'hold', null], description: 'stop: graceful stop; hold: suspend.' },
    transfers: { type: 'array', items: { $ref: 'TransferSnapshot#' } },
    jobs: {
      type: 'array',
      description: 'Jobs running in it (the transaction manager).',
      items: {
        type: 'object',
        required: ['jobId', 'kind', 'label', 'startedAt'],
        properties: { jobId: { type: 'integer' }, kind: { type: 'string' }, label: { type: 'string' }, startedAt: isoTime },
      },
    },
    listening: { type: 'array', items: { $ref: 'ListeningAddress#' } },
    lastExit: {
      type: ['object', 'null'],
      description: 'The last unexpected exit.',
      properties: { code: nullable('integer'), signal: nullable('string'), at: isoTime },
    },
    note: { ...nullable('string'), description: 'Why the last stop request ended the way it did.' },
  },
};

export const NodeView = {
  $id: 'NodeView',
  type: 'object',
  required: ['state', 'startedAt', 'pid', 'version'],
  properties: {
    state: { type: 'string', enum: ['running', 'draining', 'stopping'] },
    startedAt: isoTime,
    pid: { type: 'integer' },
    version: { type: 'string' },
  },
};

export const TransferRecord = {
  $id: 'TransferRecord',
  type: 'object',
  description: 'One finished (or cut) transfer.',
  required: ['id', 'component', 'protocol', 'path', 'direction', 'bytes', 'outcome', 'startedAt', 'endedAt'],
  properties: {
    id: { type: 'string' },
    component: { type: 'string' },
    protocol: { type: 'string' },
    account: nullable('string'),
    remoteAddress: nullable('string'),
    path: { type: 'string' },
    direction: { type: 'string', enum: ['upload', 'download'] },
    bytes: { type: 'integer' },
    size: nullable('integer'),
    outcome: { type: 'string', enum: ['completed', 'interrupted', 'failed'] },
    reason: nullable('string'),
    startedAt: isoTime,
    endedAt: isoTime,
  },
};

export const LifecycleEvent = {
  $id: 'LifecycleEvent',
  type: 'object',
  required: ['id', 'component', 'event', 'detail', 'at'],
  properties: {
    id: { type: 'integer' },
    component: { type: 'string' },
    event: { type: 'string', description: 'e.g. state:draining' },
    detail: { type: 'object', additionalProperties: true },
    at: isoTime,
  },
};

export const Account = {
  $id: 'Account',
  type: 'object',
  description: 'A transfer account. Its password is never shown.',
  required: ['id', 'name', 'home', 'enabled', 'createdAt'],
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    home: { type: 'string' },
    enabled: { type: 'boolean' },
    createdAt: isoTime,
  },
};

export const SshKey = {
  $id: 'SshKey',
  type: 'object',
  required: ['id', 'publicKey', 'fingerprint', 'createdAt'],
  properties: {
    id: { type: 'integer' },
    publicKey: { type: 'string' },
    fingerprint: { type: 'string', description: 'SHA256:…, as ssh-keygen -l prints it.' },
    createdAt: isoTime,
  },
};

export const AccountDetail = {
  $id: 'AccountDetail',
  type: 'object',
  required: ['id', 'name', 'home', 'enabled', 'createdAt', 'sshKeys'],
  properties: { ...Account.properties, sshKeys: { type: 'array', items: { $ref: 'SshKey#' } } },
};

const SHARED = [ErrorBody, ListeningAddress, TransferSnapshot, ComponentView, NodeView, TransferRecord, LifecycleEvent, Account, SshKey, AccountDetail];

export function addSharedSchemas(app: FastifyInstance): void {
  for (const schema of SHARED) app.addSchema(schema);
}

export const ref = (id: string) => ({ $ref: `${id}#` });
export const listOf = (id: string) => ({ type: 'array', items: ref(id) });

const ERROR_MEANINGS: Readonly<Record<number, string>> = {
  400: 'FERRY_ERR_BAD_REQUEST: the request does not match its schema (or FERRY_ERR_CONFIG_INVALID)',
  401: 'FERRY_ERR_UNAUTHORIZED: no valid admin token',
  404: 'FERRY_ERR_UNKNOWN_COMPONENT, FERRY_ERR_ACCOUNT_NOT_FOUND or FERRY_ERR_NOT_FOUND (e.g. an AS2 partner)',
  409: 'FERRY_ERR_LIFECYCLE_TRANSITION (not possible in the current state) or FERRY_ERR_ACCOUNT_EXISTS',
  500: 'The node failed (FERRY_ERR_STORE, FERRY_ERR_IO, FERRY_ERR_INTERNAL…)',
};

/** The error responses a route may give, for its OpenAPI entry. */
export function errors(...statuses: number[]): Record<number, unknown> {
  return Object.fromEntries(statuses.map((status) => [status, { description: ERROR_MEANINGS[status], ...ref('ErrorBody') }]));
}

/** A success response with its meaning, for the OpenAPI entry. */
export const described = (description: string, schema: object) => ({ description, ...schema });

/** Route params and bodies: unknown properties are refused (see the ajv options in app.ts). */
export const componentIdParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 64, description: 'Component id: ftpd, sshd, httpd, as2d, tm…' } },
  additionalProperties: false,
};

export const accountNameParams = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', minLength: 1, maxLength: 64 } },
  additionalProperties: false,
};
