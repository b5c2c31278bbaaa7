/**
 * Declarative branch conditions, evaluated in the workflow without running code:
 *
 *   xcom.evaluate_model.should_deploy
 *   xcom.evaluate_model.accuracy >= params.threshold && not xcom.validate.empty
 *
 * Operands: variables (as in templates), numbers, quoted strings, true/false/null.
 * Operators: == != > >= < <=, && (and), || (or), ! (not), parentheses.
 */
import { TemplateError } from './errors';
import { parseLiteral } from './template';
import type { Json } from './types';
import { type RunContext, type Variable, type VariableScope, lookupVariable, parseVariable } from './variables';

type Comparison = '==' | '!=' | '>' | '>=' | '<' | '<=';
export type Condition =
  | { op: 'or' | 'and'; left: Condition; right: Condition }
  | { op: 'not'; operand: Condition }
  | { op: Comparison; left: Condition; right: Condition }
  | { op: 'literal'; value: Json }
  | { op: 'variable'; variable: Variable };

const TOKEN = /\s*(>=|<=|==|!=|&&|\|\||[()<>!]|'[^']*'|"[^"]*"|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|[A-Za-z_][\w.-]*)/y;

function tokenize(source: string): string[] {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  let position = 0;
  while (position < source.length) {
    if (source.slice(position).trim() === '') break;
    TOKEN.lastIndex = position;
    const match = TOKEN.exec(source);
    if (!match) throw new TemplateError(`cannot read condition '${source}' at '${source.slice(position).trim()}'`);
    tokens.push(match[1] ?? '');
    position = TOKEN.lastIndex;
  }
  return tokens;
}

/** Parses a condition, checking every variable against the pipeline's steps and params. */
export function parseCondition(source: string, scope: VariableScope): Condition {
  const tokens = tokenize(source);
  let index = 0;
  const peek = (): string | undefined => tokens[index];
  const take = (): string => {
    const token = tokens[index++];
    if (token === undefined) throw new TemplateError(`condition '${source}' ends too early`);
    return token;
  };

  const parseOr = (): Condition => {
    let left = parseAnd();
    while (peek() === '||' || peek() === 'or') {
      take();
      left = { op: 'or', left, right: parseAnd() };
    }
    return left;
  };
  const parseAnd = (): Condition => {
    let left = parseUnary();
    while (peek() === '&&' || peek() === 'and') {
      take();
      left = { op: 'and', left, right: parseUnary() };
    }
    return left;
  };
  const parseUnary = (): Condition => {
    if (peek() === '!' || peek() === 'not') {
      take();
      return { op: 'not', operand: parseUnary() };
    }
    const left = parseOperand();
    const next = peek();
    if (next === '==' || next === '!=' || next === '>' || next === '>=' || next === '<' || next === '<=') {
      take();
      return { op: next, left, right: parseOperand() };
    }
    return left;
  };
  const parseOperand = (): Condition => {
    const token = take();
    if (token === '(') {
      const inner = parseOr();
      if (take() !== ')') throw new TemplateError(`condition '${source}' is missing a ')'`);
      return inner;
    }
    const literal = parseLiteral(token);
    if (literal) return { op: 'literal', value: literal.value };
    if (/^[A-Za-z_]/.test(token)) return { op: 'variable', variable: parseVariable(token, scope) };
    throw new TemplateError(`unexpected '${token}' in condition '${source}'`);
  };

  const condition = parseOr();
  if (index < tokens.length) throw new TemplateError(`unexpected '${tokens[index] ?? ''}' in condition '${source}'`);
  return condition;
}

/** Steps whose XCom a condition reads. */
export function conditionSteps(condition: Condition): string[] {
  switch (condition.op) {
    case 'variable':
      return condition.variable.kind === 'xcom' ? [condition.variable.step] : [];
    case 'literal':
      return [];
    case 'not':
      return conditionSteps(condition.operand);
    default:
      return [...conditionSteps(condition.left), ...conditionSteps(condition.right)];
  }
}

function truthy(value: Json): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (value !== null && typeof value === 'object') return Object.keys(value).length > 0;
  return Boolean(value);
}

function compare(op: Comparison, left: Json, right: Json): boolean {
  if (op === '==') return JSON.stringify(left) === JSON.stringify(right);
  if (op === '!=') return JSON.stringify(left) !== JSON.stringify(right);
  const comparable =
    (typeof left === 'number' && typeof right === 'number') || (typeof left === 'string' && typeof right === 'string');
  if (!comparable) {
    throw new TemplateError(`cannot compare ${JSON.stringify(left)} ${op} ${JSON.stringify(right)}: both sides must be numbers or both strings`);
  }
  switch (op) {
    case '>':
      return left > right;
    case '>=':
      return left >= right;
    case '<':
      return left < right;
    case '<=':
      return left <= right;
  }
}

function value(condition: Condition, ctx: RunContext): Json {
  switch (condition.op) {
    case 'literal':
      return condition.value;
    case 'variable':
      return lookupVariable(condition.variable, ctx);
    case 'not':
      return !truthy(value(condition.operand, ctx));
    case 'and':
      return truthy(value(condition.left, ctx)) && truthy(value(condition.right, ctx));
    case 'or':
      return truthy(value(condition.left, ctx)) || truthy(value(condition.right, ctx));
    default:
      return compare(condition.op, value(condition.left, ctx), value(condition.right, ctx));
  }
}

/** Evaluates a parsed condition against a run. */
export function evaluateCondition(condition: Condition, ctx: RunContext): boolean {
  return truthy(value(condition, ctx));
}
