/**
 * Runs payloads through the process's payload codec for the codec endpoints.
 * Codec failures are the caller's to see: a payload that cannot be decoded
 * (missing or corrupted object, wrong or no key) is a 400 naming it, S3 out
 * of reach a 502.
 */
import { BadGatewayException, BadRequestException, Inject, Injectable } from '@nestjs/common';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { ClaimCheckError, PayloadDecryptionError } from '../../codec';
import type { PayloadJson, PayloadsJson } from './dto/payloads.dto';
import { PAYLOAD_CODEC } from './codec.tokens';

function fromJson({ metadata, data }: PayloadJson): Payload {
  const bytes = (text: string): Uint8Array => Buffer.from(text, 'base64');
  return {
    metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([k, v]) => [k, bytes(v)])),
    data: bytes(data ?? ''),
  };
}

function toJson({ metadata, data }: Payload): PayloadsJson['payloads'][number] {
  const text = (bytes: Uint8Array | null | undefined): string => Buffer.from(bytes ?? new Uint8Array()).toString('base64');
  return {
    metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([k, v]) => [k, text(v)])),
    data: text(data),
  };
}

@Injectable()
export class CodecService {
  constructor(@Inject(PAYLOAD_CODEC) private readonly codec: PayloadCodec) {}

  encode(payloads: PayloadJson[]): Promise<PayloadsJson> {
    return this.run('encode', payloads);
  }

  decode(payloads: PayloadJson[]): Promise<PayloadsJson> {
    return this.run('decode', payloads);
  }

  private async run(direction: 'encode' | 'decode', payloads: PayloadJson[]): Promise<PayloadsJson> {
    try {
      const out = await this.codec[direction](payloads.map(fromJson));
      return { payloads: out.map(toJson) };
    } catch (err) {
      if (err instanceof ClaimCheckError && err.reason === 'unreachable') throw new BadGatewayException(err.message, { cause: err });
      if (err instanceof ClaimCheckError || err instanceof PayloadDecryptionError) throw new BadRequestException(err.message, { cause: err });
      throw err;
    }
  }
}
