/** The codec endpoints for the Temporal Web UI, with their CORS. */
import { type DynamicModule, Inject, type MiddlewareConsumer, Module, type NestModule, RequestMethod } from '@nestjs/common';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { CodecController } from './codec.controller';
import { DEFAULT_CODEC_ORIGINS, codecCors } from './codec-cors';
import { CodecService } from './codec.service';
import { CODEC_ORIGINS, PAYLOAD_CODEC } from './codec.tokens';

export interface CodecModuleOptions {
  /** The codec the worker uses. @default none: payloads pass through unchanged */
  payloadCodec?: PayloadCodec;
  /** Origins allowed to call the endpoints from a browser. @default the start-dev Web UI's, http://127.0.0.1:8233 and http://localhost:8233 */
  codecOrigins?: readonly string[];
}

const PASS_THROUGH: PayloadCodec = {
  encode: (payloads: Payload[]) => Promise.resolve(payloads),
  decode: (payloads: Payload[]) => Promise.resolve(payloads),
};

@Module({})
export class CodecModule implements NestModule {
  constructor(@Inject(CODEC_ORIGINS) private readonly origins: readonly string[]) {}

  static forRoot(options: CodecModuleOptions): DynamicModule {
    return {
      module: CodecModule,
      controllers: [CodecController],
      providers: [
        CodecService,
        { provide: PAYLOAD_CODEC, useValue: options.payloadCodec ?? PASS_THROUGH },
        { provide: CODEC_ORIGINS, useValue: options.codecOrigins ?? DEFAULT_CODEC_ORIGINS },
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    // Every method, so browsers' OPTIONS preflights are answered too.
    consumer.apply(codecCors(this.origins)).forRoutes({ path: 'codec/*path', method: RequestMethod.ALL });
  }
}
