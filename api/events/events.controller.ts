/**
 * `POST /events/s3`: S3 event notifications (AWS or MinIO JSON) with
 * `Authorization: Bearer <TRAINYARD_EVENTS_TOKEN>`. Answers 202 with what each
 * object did: which runs it woke or started.
 */
import { Body, Controller, HttpCode, HttpStatus, Post, UseGuards } from '@nestjs/common';
import { EventsTokenGuard } from './events.guard';
import { type EventsReply, EventsService } from './events.service';
import { objectCreatedEvents } from './s3-event';

@Controller('events')
@UseGuards(EventsTokenGuard)
export class EventsController {
  constructor(private readonly events: EventsService) {}

  @Post('s3')
  @HttpCode(HttpStatus.ACCEPTED)
  async s3(@Body() body: unknown): Promise<EventsReply> {
    const { events, ignored } = objectCreatedEvents(body);
    const reply = await this.events.route(events);
    return { ...reply, ignored: reply.ignored + ignored };
  }
}
