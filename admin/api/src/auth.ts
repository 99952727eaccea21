import { FerryError, type AdminTokenStore } from '@ferry/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Served without a token: only the load-balancer probes and the API documentation. */
    public?: boolean;
  }
  interface FastifyRequest {
    /** The admin token that authorised this call; set on every non-public route. */
    admin?: { tokenId: number; label: string };
  }
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

function tokenOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  return typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
}

/**
 * Every request needs a valid admin token unless its route is marked `public`. The check is on the
 * root instance, so a route added later, in any plugin, is protected without opting in, and an
 * unknown path answers 401 rather than telling a stranger which paths exist.
 */
export function installAuth(app: FastifyInstance, tokens: AdminTokenStore, isPublicPath: (url: string) => boolean): void {
  // Declared up front so every request object has the same shape (fastify's advice for speed).
  app.decorateRequest('admin', undefined);
  app.addHook('onRequest', async (request) => {
    const route = request.routeOptions;
    if (route.config.public === true || (route.url !== undefined && isPublicPath(route.url))) return;
    const token = tokenOf(request);
    if (token === undefined) {
      throw new FerryError('FERRY_ERR_UNAUTHORIZED', 'this call needs an admin token: Authorization: Bearer <token> (the node writes one to <dataDir>/admin.token)');
    }
    const verified = await tokens.verify(token);
    if (!verified) throw new FerryError('FERRY_ERR_UNAUTHORIZED', 'the admin token is not valid (revoked, or from another node)');
    request.admin = { tokenId: verified.id, label: verified.label };
  });
}
