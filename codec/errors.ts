/** What the payload codec throws: each names what it could not read and what to do about it. */

/**
 * Thrown when the encryption key is malformed (not base64 of 32 bytes). The
 * message names the variable it came from and how to make a good key; it
 * never contains the value.
 */
export class PayloadKeyError extends Error {
  override name = 'PayloadKeyError';
  constructor(
    readonly source: string,
    problem: string,
  ) {
    super(`${source} ${problem}; it must be base64 of 32 random bytes (AES-256), e.g. the output of: openssl rand -base64 32`);
  }
}

/**
 * Thrown when a payload the codec stored in object storage cannot be read
 * back: the object is missing, its bytes are not the ones stored (SHA-256
 * differs), S3 failed, or this process has no S3 access to fetch it with.
 */
export class ClaimCheckError extends Error {
  override name = 'ClaimCheckError';
  constructor(
    readonly bucket: string,
    readonly key: string,
    readonly reason: 'missing' | 'corrupted' | 'unreachable' | 'no-storage',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`payload s3://${bucket}/${key}: ${message}`, options);
  }
}

/**
 * Thrown when an encrypted payload cannot be decrypted: this process has no
 * key, a different key, or the ciphertext was altered (the GCM tag fails).
 */
export class PayloadDecryptionError extends Error {
  override name = 'PayloadDecryptionError';
  constructor(
    /** The id of the key the payload was encrypted with. */
    readonly keyId: string,
    message: string,
  ) {
    super(message);
  }
}
