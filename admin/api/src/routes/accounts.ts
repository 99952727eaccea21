import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { FerryError, type Store } from '@ferry/core';
import type { FastifyInstance } from 'fastify';
import { accountNameParams, errors, listOf, ref } from '../schemas.js';

interface NameParams {
  name: string;
}

const password = { type: 'string', minLength: 1, maxLength: 1024, writeOnly: true };

const newAccountBody = {
  type: 'object',
  required: ['name', 'password'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 64 },
    password,
    home: { type: 'string', minLength: 1, maxLength: 4096, description: 'Default: <accountHomeRoot>/<name>. A relative path is taken from accountHomeRoot.' },
  },
  additionalProperties: false,
};

const passwordBody = { type: 'object', required: ['password'], properties: { password }, additionalProperties: false };

const sshKeyBody = {
  type: 'object',
  required: ['key'],
  properties: { key: { type: 'string', minLength: 1, maxLength: 16_384, description: 'One OpenSSH public key line: <type> <base64> [comment]' } },
  additionalProperties: false,
};

/**
 * Transfer accounts. Passwords come in and never go out: the response schemas have no field for
 * them, and fastify does not log bodies.
 */
export function accountRoutes(app: FastifyInstance, store: Store, accountHomeRoot: string): void {
  const accounts = store.accounts;

  app.get('/api/v1/accounts', {
    schema: { tags: ['accounts'], summary: 'Every transfer account, by name', response: { 200: listOf('Account'), ...errors(401, 500) } },
    handler: async () => accounts.list(),
  });

  app.get<{ Params: NameParams }>('/api/v1/accounts/:name', {
    schema: {
      tags: ['accounts'],
      summary: 'One account with its SSH keys',
      params: accountNameParams,
      response: { 200: ref('AccountDetail'), ...errors(400, 401, 404, 500) },
    },
    handler: async (request) => {
      const account = await accounts.get(request.params.name);
      if (!account) throw notFound(request.params.name);
      return { ...account, sshKeys: await accounts.sshKeys(account.name) };
    },
  });

  app.post<{ Body: { name: string; password: string; home?: string } }>('/api/v1/accounts', {
    schema: {
      tags: ['accounts'],
      summary: 'Create an account; its home folder is created if missing',
      body: newAccountBody,
      response: { 201: ref('Account'), ...errors(400, 401, 409, 500) },
    },
    handler: async (request, reply) => {
      const { name } = request.body;
      const home = resolve(accountHomeRoot, request.body.home ?? name);
      // The store checks the name before anything touches the disk, so `name` is safe in a path here.
      const account = await accounts.create({ name, password: request.body.password, home });
      try {
        await mkdir(home, { recursive: true, mode: 0o750 });
      } catch (err) {
        // An account whose home cannot exist would fail every login: take it back.
        await accounts.remove(name).catch(() => undefined);
        throw new FerryError('FERRY_ERR_IO', `cannot create the home folder ${home} of account ${name}: ${(err as Error).message}`, {
          cause: err,
          details: { account: name, home },
        });
      }
      request.log.info({ event: 'admin.account', action: 'create', account: name, home, by: request.admin?.label }, `account ${name} created`);
      return reply.status(201).send(account);
    },
  });

  app.delete<{ Params: NameParams }>('/api/v1/accounts/:name', {
    schema: {
      tags: ['accounts'],
      summary: 'Remove an account and its SSH keys (its history and home folder stay)',
      params: accountNameParams,
      response: { 204: { type: 'null', description: 'Removed' }, ...errors(400, 401, 404, 500) },
    },
    handler: async (request, reply) => {
      await accounts.remove(request.params.name);
      request.log.info({ event: 'admin.account', action: 'remove', account: request.params.name, by: request.admin?.label }, `account ${request.params.name} removed`);
      return reply.status(204).send();
    },
  });

  app.put<{ Params: NameParams; Body: { password: string } }>('/api/v1/accounts/:name/password', {
    schema: {
      tags: ['accounts'],
      summary: "Replace an account's password",
      params: accountNameParams,
      body: passwordBody,
      response: { 204: { type: 'null', description: 'Changed' }, ...errors(400, 401, 404, 500) },
    },
    handler: async (request, reply) => {
      await accounts.setPassword(request.params.name, request.body.password);
      request.log.info({ event: 'admin.account', action: 'password', account: request.params.name, by: request.admin?.label }, `password of ${request.params.name} changed`);
      return reply.status(204).send();
    },
  });

  app.post<{ Params: NameParams; Body: { key: string } }>('/api/v1/accounts/:name/ssh-keys', {
    schema: {
      tags: ['accounts'],
      summary: 'Add an SSH public key to an account (adding a key it already has returns the stored one)',
      params: accountNameParams,
      body: sshKeyBody,
      response: { 201: ref('SshKey'), ...errors(400, 401, 404, 500) },
    },
    handler: async (request, reply) => {
      const key = await accounts.addSshKey(request.params.name, request.body.key);
      request.log.info(
        { event: 'admin.account', action: 'ssh-key', account: request.params.name, fingerprint: key.fingerprint, by: request.admin?.label },
        `SSH key ${key.fingerprint} added to ${request.params.name}`,
      );
      return reply.status(201).send(key);
    },
  });
}

function notFound(name: string): FerryError {
  return new FerryError('FERRY_ERR_ACCOUNT_NOT_FOUND', `no account named "${name}"`, { details: { account: name } });
}
