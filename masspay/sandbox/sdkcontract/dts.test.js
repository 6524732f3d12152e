'use strict';
// The checker itself: it must fail on a missing required field, a wrong
// JSON type and a value outside a status enum, and let optional fields be
// absent. Without this, a checker that accepts everything would pass the
// contract suite.
const test = require('node:test');
const assert = require('node:assert/strict');
const { answerType, modelType, check } = require('./lib/dts');

test('the model checker catches what the SDK forbids', () => {
  const good = { load_token: 'ld_1', status: 'COMPLETED', wallet_token: 'w_1' };
  assert.deepEqual(check(good, modelType('LoadTxnResp')), []);
  assert.match(check({ load_token: 'ld_1', status: 'COMPLETED' }, modelType('LoadTxnResp')).join(), /missing required field wallet_token/);
  assert.match(check({ ...good, load_token: 7 }, modelType('LoadTxnResp')).join(), /load_token: expected string, got number/);
  assert.match(check({ ...good, status: 'DONE' }, modelType('LoadTxnResp')).join(), /not one of enum LoadTxnResp.status/);
  // TaxYearUserResp.postal_code is optional and a number.
  const tax = { address1: 'a', city: 'c', country: 'USA', first_name: 'f', last_name: 'l', date_of_birth: '', balance: 1 };
  assert.deepEqual(check(tax, modelType('TaxYearUserResp')), []);
  assert.match(check({ ...tax, postal_code: '10001' }, modelType('TaxYearUserResp')).join(), /postal_code: expected number, got string/);
  // Error codes are numbers in every Error model.
  assert.match(check({ message: 'm', code: 'NOT_FOUND' }, modelType('Error404')).join(), /code: expected number/);
  // Inline answer types of service methods are read too.
  assert.match(check({}, answerType('TaxService', 'getTaxInterviewLink')).join(), /missing required field interview_url/);
  assert.match(check([{ balance: '1' }], answerType('AccountService', 'getAccountBalance')).join(), /balance: expected number/);
});
