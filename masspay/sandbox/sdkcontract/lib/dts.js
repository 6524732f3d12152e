'use strict';
// Reads the SDK's own TypeScript declarations (dist/src/models/*.d.ts and
// dist/src/services/*.d.ts of masspay-js-sdk) and checks JSON answers
// against them. The field names, their optionality and their types come from
// the installed SDK, never from a copy in this suite: when the SDK changes,
// the check changes with it.
const fs = require('node:fs');
const path = require('node:path');

const SDK_SRC = path.join(path.dirname(require.resolve('masspay-js-sdk/package.json')), 'dist', 'src');

// tokenize splits a declaration into identifiers, numbers, quoted strings
// and punctuation, dropping comments.
function tokenize(src) {
  src = src.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, ' ');
  const re = /\s*(?:([A-Za-z_$][\w$]*)|(-?\d+(?:\.\d+)?)|('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(\[\]|[{}()<>\[\];:,?|=.&]))/y;
  const out = [];
  let m;
  let at = 0;
  re.lastIndex = 0;
  while ((m = re.exec(src))) {
    at = re.lastIndex;
    if (m[1] !== undefined) out.push({ k: 'id', v: m[1] });
    else if (m[2] !== undefined) out.push({ k: 'num', v: Number(m[2]) });
    else if (m[3] !== undefined) out.push({ k: 'str', v: m[3].slice(1, -1) });
    else if (m[4] !== undefined) out.push({ k: 'p', v: m[4] });
  }
  if (src.slice(at).trim() !== '') throw new Error(`cannot read declaration near ${JSON.stringify(src.slice(at, at + 40))}`);
  return out;
}

// Parser is a recursive-descent parser for the subset of TypeScript type
// syntax the generated SDK uses.
class Parser {
  constructor(toks) { this.t = toks; this.i = 0; }
  peek(v) { const x = this.t[this.i]; return x && (v === undefined || x.v === v) ? x : null; }
  next() { return this.t[this.i++]; }
  eat(v) {
    const x = this.next();
    if (!x || x.v !== v) throw new Error(`expected ${v}, got ${x ? x.v : 'end'} at token ${this.i}`);
    return x;
  }
  type() {
    if (this.peek('|')) this.next();
    const alts = [this.postfix()];
    while (this.peek('|')) { this.next(); alts.push(this.postfix()); }
    return alts.length === 1 ? alts[0] : { kind: 'union', alts };
  }
  postfix() {
    let t = this.primary();
    while (this.peek('[]')) { this.next(); t = { kind: 'array', of: t }; }
    return t;
  }
  primary() {
    const x = this.next();
    if (!x) throw new Error('unexpected end of type');
    if (x.k === 'str') return { kind: 'literal', value: x.v };
    if (x.k === 'num') return { kind: 'literal', value: x.v };
    if (x.v === '{') return this.object();
    if (x.v === '(') { const t = this.type(); this.eat(')'); return t; }
    if (x.k !== 'id') throw new Error(`unexpected ${x.v}`);
    switch (x.v) {
      case 'string': case 'number': case 'boolean': case 'any': case 'null': case 'void': case 'unknown':
        return { kind: x.v };
      case 'Array': { this.eat('<'); const of = this.type(); this.eat('>'); return { kind: 'array', of }; }
      case 'Record': { this.eat('<'); this.type(); this.eat(','); const of = this.type(); this.eat('>'); return { kind: 'record', of }; }
    }
    let name = x.v;
    while (this.peek('.')) { this.next(); name += '.' + this.next().v; }
    return { kind: 'ref', name };
  }
  object() {
    const fields = [];
    while (!this.peek('}')) {
      if (this.peek('readonly') && this.t[this.i + 1] && this.t[this.i + 1].k === 'id') this.next();
      const name = this.next().v;
      let optional = false;
      if (this.peek('?')) { this.next(); optional = true; }
      this.eat(':');
      const type = this.type();
      if (this.peek(';') || this.peek(',')) this.next();
      fields.push({ name, optional, type });
    }
    this.eat('}');
    return { kind: 'object', fields };
  }
}

const models = new Map();

// model loads dist/src/models/NAME.d.ts: its type and the enums of its
// namespace.
function model(name) {
  if (models.has(name)) return models.get(name);
  const file = path.join(SDK_SRC, 'models', name + '.d.ts');
  const toks = tokenize(fs.readFileSync(file, 'utf8'));
  const m = { name, type: null, enums: {} };
  for (let i = 0; i < toks.length; i++) {
    if (toks[i].v === 'type' && toks[i + 1] && toks[i + 1].v === name && toks[i + 2] && toks[i + 2].v === '=') {
      const p = new Parser(toks);
      p.i = i + 3;
      m.type = p.type();
      i = p.i;
    } else if (toks[i].v === 'enum') {
      const en = toks[i + 1].v;
      const values = [];
      let j = i + 3; // past name and '{'
      while (toks[j].v !== '}') {
        j++; // member name
        if (toks[j].v === '=') { values.push(toks[j + 1].v); j += 2; }
        if (toks[j].v === ',') j++;
      }
      m.enums[en] = values;
      i = j;
    }
  }
  if (!m.type) throw new Error(`no type ${name} in ${file}`);
  models.set(name, m);
  return m;
}

// answerType is the declared answer type of an SDK service method, e.g.
// answerType('PayoutService', 'initiatePayout').
function answerType(service, method) {
  const toks = tokenize(fs.readFileSync(path.join(SDK_SRC, 'services', service + '.d.ts'), 'utf8'));
  for (let i = 0; i < toks.length; i++) {
    if (toks[i].v === method && toks[i + 1] && toks[i + 1].v === '(') {
      let depth = 0, j = i + 1;
      do {
        if (toks[j].v === '(') depth++;
        if (toks[j].v === ')') depth--;
        j++;
      } while (depth > 0);
      if (toks[j].v !== ':' || toks[j + 1].v !== 'CancelablePromise') throw new Error(`${service}.${method}: no CancelablePromise`);
      const p = new Parser(toks);
      p.i = j + 3; // past ':' 'CancelablePromise' '<'
      return p.type();
    }
  }
  throw new Error(`${service}.${method} is not declared by the SDK`);
}

function jsType(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

// check returns every way value breaks type, each as "path: problem".
// Single-value enums (the fixed title/message/code texts of the Error
// models) are documentation of the usual text: only their JSON type is
// held. Enums with several values must hold one of them, unless allow
// (a set of "Model.enum=value" strings) names a known deviation.
function check(value, type, where = '$', allow = new Set(), ctx = null) {
  const errs = [];
  const bad = (msg) => errs.push(`${where}: ${msg}`);
  switch (type.kind) {
    // void (deleteAutopayoutRule) promises the caller nothing: a body is
    // handed back unread and harms no SDK user.
    case 'any': case 'unknown': case 'void': break;
    case 'string': case 'number': case 'boolean': case 'null':
      if (jsType(value) !== type.kind) bad(`expected ${type.kind}, got ${jsType(value)} ${JSON.stringify(value)}`);
      break;
    case 'literal': if (value !== type.value) bad(`expected ${JSON.stringify(type.value)}, got ${JSON.stringify(value)}`); break;
    case 'array':
      if (!Array.isArray(value)) { bad(`expected array, got ${jsType(value)}`); break; }
      value.forEach((v, i) => errs.push(...check(v, type.of, `${where}[${i}]`, allow, ctx)));
      break;
    case 'record':
      if (jsType(value) !== 'object') { bad(`expected object, got ${jsType(value)}`); break; }
      for (const [k, v] of Object.entries(value)) errs.push(...check(v, type.of, `${where}.${k}`, allow, ctx));
      break;
    case 'object':
      if (jsType(value) !== 'object') { bad(`expected object, got ${jsType(value)}`); break; }
      for (const f of type.fields) {
        if (!(f.name in value)) {
          if (!f.optional) bad(`missing required field ${f.name}`);
          continue;
        }
        errs.push(...check(value[f.name], f.type, `${where}.${f.name}`, allow, ctx));
      }
      break;
    case 'union': {
      const tries = type.alts.map((a) => check(value, a, where, allow, ctx));
      const ok = tries.find((t) => t.length === 0);
      if (!ok) {
        // Report against the alternative that came closest.
        tries.sort((a, b) => a.length - b.length);
        errs.push(...tries[0]);
      }
      break;
    }
    case 'ref': {
      const [name, en] = type.name.split('.');
      if (en) {
        const values = model(name).enums[en];
        if (!values) throw new Error(`no enum ${type.name}`);
        const want = typeof values[0];
        if (typeof value !== want) { bad(`expected ${want} (enum ${type.name}), got ${jsType(value)} ${JSON.stringify(value)}`); break; }
        if (values.length > 1 && !values.includes(value) && !allow.has(`${type.name}=${value}`)) {
          bad(`${JSON.stringify(value)} is not one of enum ${type.name}: ${values.join(', ')}`);
        }
        break;
      }
      errs.push(...check(value, model(name).type, where, allow, ctx));
      break;
    }
    default:
      throw new Error(`unknown type kind ${type.kind}`);
  }
  return errs;
}

// fields lists the declared fields of a model (for messages).
function modelType(name) { return model(name).type; }

module.exports = { SDK_SRC, answerType, modelType, check, tokenize };
