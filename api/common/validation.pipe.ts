/**
 * The API's one validation pipe: DTOs are checked with class-validator, fields
 * a DTO does not declare are refused, and every problem becomes one line of a
 * 400 that names the field (dotted for nested ones) and what to do about it.
 */
import { BadRequestException, ValidationPipe } from '@nestjs/common';
import type { ValidationError } from 'class-validator';

function problems(errors: readonly ValidationError[], prefix = ''): string[] {
  return errors.flatMap((error) => {
    const field = `${prefix}${error.property}`;
    const own = Object.entries(error.constraints ?? {}).map(([constraint, message]) =>
      constraint === 'whitelistValidation' ? `${field} is not a field of this request; remove it` : message,
    );
    return [...own, ...problems(error.children ?? [], `${field}.`)];
  });
}

export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) => new BadRequestException(problems(errors)),
  });
}
