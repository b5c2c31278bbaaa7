/**
 * The body of `POST /codec/encode` and `/codec/decode`, and their answer:
 * Temporal's remote codec protocol, a `Payloads` message in proto3 JSON, where
 * bytes (each metadata value and the data) are base64 text.
 *
 *   { "payloads": [{ "metadata": { "encoding": "anNvbi9wbGFpbg==" }, "data": "eyJhIjoxfQ==" }] }
 */
import { Type } from 'class-transformer';
import { IsArray, IsOptional, ValidateBy, ValidateNested } from 'class-validator';

/** Standard or URL-safe base64, padded or not, as proto3 JSON parsers accept. */
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function isBase64(value: unknown): boolean {
  return typeof value === 'string' && BASE64.test(value);
}

function isBase64Map(value: unknown): boolean {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && Object.values(value).every(isBase64);
}

export class PayloadJson {
  /** Metadata key to base64 of its bytes. */
  @IsOptional()
  @ValidateBy(
    { name: 'isBase64Map', validator: { validate: isBase64Map } },
    { message: 'metadata must be an object of key to base64 text, like {"encoding": "anNvbi9wbGFpbg=="}' },
  )
  metadata?: Record<string, string>;

  /** Base64 of the payload's bytes. */
  @IsOptional()
  @ValidateBy({ name: 'isBase64', validator: { validate: isBase64 } }, { message: 'data must be base64 text' })
  data?: string;
}

export class PayloadsDto {
  @IsArray({ message: 'payloads must be an array of {metadata, data} objects (proto3 JSON of temporal.api.common.v1.Payloads)' })
  @ValidateNested({ each: true })
  @Type(() => PayloadJson)
  payloads!: PayloadJson[];
}

/** What the codec endpoints answer. */
export interface PayloadsJson {
  payloads: { metadata: Record<string, string>; data: string }[];
}
