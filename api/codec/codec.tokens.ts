/** Injection tokens of the codec feature. */
import type { PayloadCodec } from '@temporalio/common';
import type { Token } from '../temporal/temporal.tokens';

/** The process's payload codec; one that passes payloads through when none is configured. */
export const PAYLOAD_CODEC: Token<PayloadCodec> = Symbol('trainyard:PayloadCodec');
/** Browser origins allowed to call the codec endpoints. */
export const CODEC_ORIGINS: Token<readonly string[]> = Symbol('trainyard:CodecOrigins');
