/**
 * A KubeConfig whose API calls share one keep-alive connection pool. The client
 * library builds a fresh HTTPS agent for every request, so each call would pay
 * a TLS handshake; with hundreds of pods a minute that is most of a launch.
 * Streams (log follows, watches) get a pool of their own: they hold a socket for
 * minutes, and must neither starve the short calls nor each pay a handshake.
 */
import { Agent, type RequestOptions } from 'node:https';
import { KubeConfig, type RequestContext } from '@kubernetes/client-node';

export class PooledKubeConfig extends KubeConfig {
  private pooled: Agent | undefined;
  private streams: Agent | undefined;

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const fresh = context.getAgent();
    if (!(fresh instanceof Agent)) return; // a proxy agent: leave it as configured
    this.pooled ??= new Agent({ ...fresh.options, keepAlive: true, maxSockets: 64 });
    context.setAgent(this.pooled);
  }

  override async applyToHTTPSOptions(opts: RequestOptions): Promise<void> {
    await super.applyToHTTPSOptions(opts);
    const fresh = opts.agent;
    if (!(fresh instanceof Agent)) return;
    this.streams ??= new Agent({ ...fresh.options, keepAlive: true });
    opts.agent = this.streams;
  }
}
