/**
 * The payload codec: keeps large values out of Temporal's history and,
 * optionally, encrypts every value. Worker, clients (API, demo, tests) and the
 * API's codec endpoint for the Web UI must all use the same one.
 *
 *   const codec = new TrainyardPayloadCodec({
 *     storage: { s3: createS3Client(s3Options), bucket: 'trainyard-payloads' },  // claim check over the threshold
 *     threshold: 128 * 1024,                                                      // @default 131072
 *     key: payloadKeyFromBase64(process.env.TRAINYARD_PAYLOAD_KEY ?? ''),        // AES-256-GCM for every payload
 *   });
 *   await Worker.create({ ..., dataConverter: { payloadCodecs: [codec] } });
 *   new Client({ connection, dataConverter: { payloadCodecs: [codec] } });
 *
 * Workflows never import this: the SDK applies codecs outside the sandbox.
 */
export {
  DEFAULT_PAYLOAD_PREFIX,
  DEFAULT_PAYLOAD_THRESHOLD,
  TrainyardPayloadCodec,
  compilePayloadCodecOptions,
  type CompiledPayloadCodecOptions,
  type PayloadCodecOptions,
} from './payload-codec';
export { CLAIM_CHECK_ENCODING, ensureBucket, referenceOf, type ClaimCheckReference } from './claim-check-store';
export { ENCRYPTED_ENCODING, KEY_ID_METADATA, encryptedWith } from './payload-cipher';
export { PAYLOAD_KEY_BYTES, payloadKeyFromBase64, payloadKeyOf, type PayloadKey } from './payload-key';
export { encodingOf, payloadFromBytes, payloadToBytes } from './payload-bytes';
export { ClaimCheckError, PayloadDecryptionError, PayloadKeyError } from './errors';
