import { createHash, X509Certificate } from 'node:crypto';
import {
  AS2_COMPRESSIONS,
  AS2_DIGESTS,
  AS2_ENCRYPTIONS,
  AS2_ID_RULE,
  AS2_KEY_TRANSPORTS,
  AS2_MDN_MODES,
  FerryError,
  type As2Partner,
  type As2PartnerInput,
  type Store,
} from '@ferry/core';
import type { FastifyInstance } from 'fastify';
import { errors, listOf, ref } from '../schemas.js';

/**
 * AS2 trading partners in the store. as2d looks partners up per message, so a PUT or DELETE here
 * applies to the next message without a restart. Partners configured in ferry.yaml are not listed
 * (the API does not read as2d's config); a store partner with the same id takes precedence there.
 */

interface IdParams {
  id: string;
}

type PartnerBody = Omit<As2PartnerInput, 'id'>;

const isoTime = { type: 'string', format: 'date-time' };

const encryption = { type: 'string', enum: [...AS2_ENCRYPTIONS] };
const digest = { type: 'string', enum: [...AS2_DIGESTS] };

const accept = {
  type: 'object',
  description: 'Algorithms accepted from the partner (default: all).',
  properties: {
    encryption: { type: 'array', items: encryption, minItems: 1 },
    signature: { type: 'array', items: digest, minItems: 1 },
  },
  additionalProperties: false,
};

const send = {
  type: 'object',
  description: 'How the sender library sends to the partner.',
  properties: {
    encryption: { ...encryption, default: 'aes256-cbc' },
    keyTransport: { type: 'string', enum: [...AS2_KEY_TRANSPORTS], default: 'rsa-pkcs1' },
    signature: { ...digest, default: 'sha-256' },
    compression: { type: 'string', enum: [...AS2_COMPRESSIONS], default: 'none' },
    mdn: { type: 'string', enum: [...AS2_MDN_MODES], default: 'sync', description: 'The MDN asked for.' },
    signedMdn: { type: 'boolean', default: true },
  },
  additionalProperties: false,
};

const settings = {
  certificate: { type: 'string', minLength: 1, maxLength: 65_536, description: "The partner's X.509 certificate, PEM: verifies their signatures, we encrypt to it." },
  inbox: { type: 'string', minLength: 1, maxLength: 4096, description: 'Absolute directory their payloads are stored in (created if missing).' },
  url: { type: ['string', 'null'], maxLength: 4096, description: 'Their AS2 URL (http or https), for sending to them.' },
  requireSignature: { type: 'boolean', default: true },
  requireEncryption: { type: 'boolean', default: true },
};

export const As2PartnerSchema = {
  $id: 'As2Partner',
  type: 'object',
  description: 'An AS2 trading partner kept in the store.',
  required: ['id', 'certificate', 'certificateInfo', 'inbox', 'url', 'requireSignature', 'requireEncryption', 'accept', 'send', 'createdAt', 'updatedAt'],
  properties: {
    id: { type: 'string', description: `Their AS2 id (AS2-From): ${AS2_ID_RULE}.` },
    ...settings,
    certificateInfo: {
      type: 'object',
      description: 'Read from the certificate, for operators.',
      properties: { subject: { type: 'string' }, issuer: { type: 'string' }, notBefore: isoTime, notAfter: isoTime, fingerprint: { type: 'string', description: 'SHA-256 of the DER, hex.' } },
    },
    accept,
    send,
    createdAt: isoTime,
    updatedAt: isoTime,
  },
};

const partnerBody = {
  type: 'object',
  required: ['certificate', 'inbox'],
  properties: { ...settings, accept, send },
  additionalProperties: false,
};

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 128, description: `The partner's AS2 id: ${AS2_ID_RULE}` } },
  additionalProperties: false,
};

export function as2PartnerRoutes(app: FastifyInstance, store: Store): void {
  const partners = store.as2Partners;
  app.addSchema(As2PartnerSchema);

  app.get('/api/v1/as2/partners', {
    schema: { tags: ['as2'], summary: 'Every AS2 partner in the store, by id', response: { 200: listOf('As2Partner'), ...errors(401, 500) } },
    handler: async () => (await partners.list()).map(withCertificateInfo),
  });

  app.get<{ Params: IdParams }>('/api/v1/as2/partners/:id', {
    schema: { tags: ['as2'], summary: 'One AS2 partner', params: idParams, response: { 200: ref('As2Partner'), ...errors(400, 401, 404, 500) } },
    handler: async (request) => {
      const partner = await partners.get(request.params.id);
      if (!partner) throw notFound(request.params.id);
      return withCertificateInfo(partner);
    },
  });

  app.put<{ Params: IdParams; Body: PartnerBody }>('/api/v1/as2/partners/:id', {
    schema: {
      tags: ['as2'],
      summary: 'Create an AS2 partner, or replace all its settings; as2d uses it from the next message on',
      params: idParams,
      body: partnerBody,
      response: { 200: { description: 'Replaced', ...ref('As2Partner') }, 201: { description: 'Created', ...ref('As2Partner') }, ...errors(400, 401, 500) },
    },
    handler: async (request, reply) => {
      const { id } = request.params;
      // The store checks everything, the certificate included (X509Certificate), naming the field.
      const { partner, created } = await partners.put({ ...request.body, id });
      const info = withCertificateInfo(partner);
      request.log.info(
        { event: 'admin.as2-partner', action: created ? 'create' : 'replace', partner: id, fingerprint: info.certificateInfo.fingerprint, by: request.admin?.label },
        `AS2 partner ${id} ${created ? 'created' : 'replaced'}`,
      );
      return reply.status(created ? 201 : 200).send(info);
    },
  });

  app.delete<{ Params: IdParams }>('/api/v1/as2/partners/:id', {
    schema: {
      tags: ['as2'],
      summary: 'Remove an AS2 partner from the store (a ferry.yaml partner of that id applies again)',
      params: idParams,
      response: { 204: { type: 'null', description: 'Removed' }, ...errors(400, 401, 404, 500) },
    },
    handler: async (request, reply) => {
      await partners.remove(request.params.id);
      request.log.info({ event: 'admin.as2-partner', action: 'remove', partner: request.params.id, by: request.admin?.label }, `AS2 partner ${request.params.id} removed`);
      return reply.status(204).send();
    },
  });
}

function withCertificateInfo(partner: As2Partner) {
  const x509 = new X509Certificate(partner.certificate);
  return {
    ...partner,
    certificateInfo: {
      subject: x509.subject.replace(/\n/g, ', '),
      issuer: x509.issuer.replace(/\n/g, ', '),
      notBefore: new Date(x509.validFrom).toISOString(),
      notAfter: new Date(x509.validTo).toISOString(),
      fingerprint: createHash('sha256').update(x509.raw).digest('hex'),
    },
  };
}

function notFound(id: string): FerryError {
  return new FerryError('FERRY_ERR_NOT_FOUND', `no AS2 partner "${id}" in the store`, { details: { partner: id } });
}
