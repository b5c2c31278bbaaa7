/** Bearer-token check for the event endpoint; the token is compared in constant time. */
import { timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Inject, Injectable, ServiceUnavailableException, UnauthorizedException } from '@nestjs/common';
import { EVENTS_TOKEN } from '../temporal/temporal.tokens';

@Injectable()
export class EventsTokenGuard implements CanActivate {
  constructor(@Inject(EVENTS_TOKEN) private readonly token: string | undefined) {}

  canActivate(context: ExecutionContext): boolean {
    if (!this.token) {
      throw new ServiceUnavailableException('the event endpoint is off: set TRAINYARD_EVENTS_TOKEN on the API and send it as "Authorization: Bearer <token>"');
    }
    const header = context.switchToHttp().getRequest<{ headers: { authorization?: string } }>().headers.authorization ?? '';
    const given = Buffer.from(/^Bearer (.+)$/i.exec(header)?.[1] ?? '');
    const wanted = Buffer.from(this.token);
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
      throw new UnauthorizedException('missing or wrong token; send "Authorization: Bearer <TRAINYARD_EVENTS_TOKEN>"');
    }
    return true;
  }
}
