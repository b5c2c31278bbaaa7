/**
 * A KubeConfig whose API calls share one keep-alive connection pool. The client
 * library builds a fresh HTTPS agent for every request, so each call would pay
 * a TLS handshake; with hundreds of pods a minute that is most of a launch.
 */
import { Agent } from 'node:https';
import { KubeConfig, type RequestContext } from '@kubernetes/client-node';

export class PooledKubeConfig extends KubeConfig {
  private pooled: Agent | undefined;

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const fresh = context.getAgent();
    if (!(fresh instanceof Agent)) return; // a proxy agent: leave it as configured
    this.pooled ??= new Agent({ ...fresh.options, keepAlive: true, maxSockets: 64 });
    context.setAgent(this.pooled);
  }
}
