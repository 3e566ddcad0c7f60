import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * A route handler that returns a promise, with its rejection passed to `next(error)`. Express 5 does that itself;
 * Express 4 ignores the promise, so there the rejection would go unhandled and the request would hang.
 */
export function handleAsync(handler: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return function asyncRouteHandler(req: Request, res: Response, next: NextFunction): void {
    handler(req, res).catch(next);
  };
}
