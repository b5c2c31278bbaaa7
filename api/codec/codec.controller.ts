/**
 * `POST /codec/decode` and `POST /codec/encode`: Temporal's remote codec
 * protocol, so the Web UI (`temporal server start-dev --ui-codec-endpoint
 * http://127.0.0.1:3000/codec`) shows decoded values instead of references
 * and ciphertext. X-Namespace is accepted and not needed: one codec serves all.
 */
import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { PayloadsDto, type PayloadsJson } from './dto/payloads.dto';
import { CodecService } from './codec.service';

@Controller('codec')
export class CodecController {
  constructor(private readonly codec: CodecService) {}

  @Post('decode')
  @HttpCode(HttpStatus.OK)
  decode(@Body() body: PayloadsDto): Promise<PayloadsJson> {
    return this.codec.decode(body.payloads);
  }

  @Post('encode')
  @HttpCode(HttpStatus.OK)
  encode(@Body() body: PayloadsDto): Promise<PayloadsJson> {
    return this.codec.encode(body.payloads);
  }
}
