'use strict';
// The SDK contract suite: MassPay's official JavaScript SDK (masspay-js-sdk,
// pinned in package-lock.json) drives a real `payrun sandbox` through the
// whole flow of MassPay's guides, and every answer is checked field by field
// against the model the SDK declares for it (lib/dts.js reads the SDK's own
// .d.ts files). Run: make contract, or npm ci && node --test here.
const test = require('node:test');
const assert = require('node:assert/strict');
const { MasspayJsSdk, ApiError } = require('masspay-js-sdk');
const { answerType, modelType, check } = require('./lib/dts');
const sandbox = require('./lib/sandbox');

const KEY = 'sdk-contract-key-0123456789';

// Known deviations from an SDK enum, each with its reason. Nothing else is
// let through.
const ENUM_DEVIATIONS = new Set([
  // The sandbox's catalog asks for IFSC/sort codes, Interac emails and crypto
  // wallet addresses; SDK 2.0.0's AttrsRequirement.type enum has no member
  // for them, and payrun's sheet columns (attr:BankCode, attr:EmailAddress,
  // attr:WalletAddress) are named after these types.
  'AttrsRequirement.type=BankCode',
  'AttrsRequirement.type=EmailAddress',
  'AttrsRequirement.type=WalletAddress',
]);

// holds asserts that value has every field of type with the declared JSON
// types, and fails with the list of differences.
function holds(value, type, what) {
  const errs = check(value, type, what, ENUM_DEVIATIONS);
  if (errs.length) assert.fail(`${what} does not match the SDK model:\n  ${errs.join('\n  ')}\nanswer: ${JSON.stringify(value)}`);
  return value;
}

// answer checks the result of an SDK service method against the answer
// type that very method declares.
function answer(value, service, method) {
  return holds(value, answerType(service, method), `${service}.${method}`);
}

// refusal awaits a call that must fail with status, and checks its body
// against the SDK's Error<status> model.
async function refusal(promise, status, model = `Error${status}`) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ApiError, `expected an ApiError ${status}, got ${err}`);
  assert.equal(err.status, status, `status of ${err.url}: ${JSON.stringify(err.body)}`);
  holds(err.body, modelType(model), model);
  return err.body;
}

let sb;
let sdk;
test.before(async () => {
  sb = await sandbox.start(KEY);
  sdk = new MasspayJsSdk({ BASE: sb.base, AUTHORIZER_NAME_API_KEY: `Bearer ${KEY}` });
});
test.after(async () => { if (sb) await sb.stop(); });

test('the whole flow of the guides through the SDK', async (t) => {
  const run = Date.now().toString(36);
  const S = sdk;
  let usd, user, route, attrSet, payout, load, wallet;

  await t.test('balance', async () => {
    const list = answer(await S.AccountService.getAccountBalance(), 'AccountService', 'getAccountBalance');
    usd = list.find((b) => b.currency_code === 'USD');
    assert.ok(usd, 'a USD balance');
  });

  await t.test('user create, lookup, get, update', async () => {
    user = answer(await S.UserService.createUser({
      internal_user_id: `sdk-${run}`, country: 'USA', first_name: 'Ada', last_name: 'Lovelace',
      email: `ada-${run}@example.com`, address1: '1 Main St', city: 'New York', state_province: 'NY',
      postal_code: '10001', date_of_birth: '1990-12-10', mobile_number: '+12125550100',
    }), 'UserService', 'createUser');
    const found = answer(await S.UserService.userLookup(user.email, 'Ada', user.internal_user_id), 'UserService', 'userLookup');
    assert.equal(found.user_token, user.user_token);
    const got = answer(await S.UserService.getUserByToken(user.user_token), 'UserService', 'getUserByToken');
    assert.equal(got.email, user.email);
    const upd = answer(await S.UserService.updateUser(user.user_token, {
      status: 'ACTIVE', internal_user_id: user.internal_user_id, address1: '2 Main St', city: 'New York',
      state_province: 'NY', postal_code: '10001', country: 'USA', first_name: 'Ada', last_name: 'Lovelace', email: user.email,
    }), 'UserService', 'updateUser');
    assert.equal(upd.address1, '2 Main St');
    await refusal(S.UserService.createUser({ internal_user_id: `sdk-${run}-2`, country: 'USA', first_name: 'A', last_name: 'B', email: user.email }), 409);
    await refusal(S.UserService.getUserByToken('usr_nobody'), 404);
  });

  await t.test('routes: list, cheapest, best, service, alternatives, countries', async () => {
    answer(await S.CatalogService.getCountryList(), 'CatalogService', 'getCountryList');
    const all = answer(await S.CatalogService.getCountryServices('USA'), 'CatalogService', 'getCountryServices');
    assert.ok(all.companies.length > 0);
    const cheap = answer(await S.CatalogService.getCheapestCountryServices('USA', undefined, undefined, user.user_token, 'USD', undefined, 'USD', undefined, '100'),
      'CatalogService', 'getCheapestCountryServices');
    // The guides' /best is not in SDK 2.0.0: the SDK's raw request reaches it,
    // and it answers the same model as /cheapest.
    const best = await S.request.request({
      method: 'GET', url: '/payout/country/{country_code}/best', path: { country_code: 'USA' },
      query: { source_currency: 'USD', destination_currency: 'USD', amount: '100' },
    });
    holds(best, modelType('CompaniesResp'), 'GET /country/{cc}/best');
    route = best.companies[0].services[0].payers[0];
    assert.equal(route.destination_token, cheap.companies[0].services[0].payers[0].destination_token);
    const svc = answer(await S.CatalogService.getDestinationToken(route.destination_token), 'CatalogService', 'getDestinationToken');
    assert.equal(svc.payers[0].destination_token, route.destination_token);
    const alt = answer(await S.CatalogService.getDestinationTokenAlternatives(route.destination_token), 'CatalogService', 'getDestinationTokenAlternatives');
    assert.ok(alt.payers.every((p) => p.destination_token !== route.destination_token), 'alternatives leave out the route itself');
    // Every route's attribute list, crypto ones included.
    for (const co of all.companies) {
      for (const p of co.services[0].payers) {
        const cur = p.exchange_rate[0].currency_symbol;
        answer(await S.AttributeService.getAttrs(user.user_token, p.destination_token, cur), 'AttributeService', 'getAttrs');
      }
    }
    await refusal(S.CatalogService.getCountryServices('US'), 400);
    await refusal(S.request.request({ method: 'DELETE', url: '/payout/account/balance' }), 405);
  });

  await t.test('attributes get and store, all attributes', async () => {
    const req = answer(await S.AttributeService.getAttrs(user.user_token, route.destination_token, 'USD'), 'AttributeService', 'getAttrs');
    assert.ok(req.length > 0);
    const values = req.map((a) => ({ token: a.token, value: a.type === 'BankRoutingNumber' ? '021000021' : '123456789' }));
    attrSet = answer(await S.AttributeService.storeAttrs(user.user_token, route.destination_token, 'USD', { values }), 'AttributeService', 'storeAttrs');
    const again = answer(await S.AttributeService.getAttrs(user.user_token, route.destination_token, 'USD'), 'AttributeService', 'getAttrs');
    assert.ok(again.every((a) => a.value !== undefined && a.attr_set_token === attrSet.attr_set_token));
    const stored = answer(await S.AttributeService.getAllAttrs(user.user_token), 'AttributeService', 'getAllAttrs');
    const mine = stored.find((s) => s.destination_token === route.destination_token);
    assert.ok(mine && mine.attributes.length === req.length, 'getAllAttrs lists the stored route with its attributes');
    await refusal(S.AttributeService.storeAttrs(user.user_token, route.destination_token, 'USD', { values: [{ token: req[0].token, value: 'x' }] }), 400);
  });

  const ctid = `ctid-${run}`;
  await t.test('payout initiate (and replay), commit, status, list, PDF', async () => {
    const body = {
      client_transfer_id: ctid, source_token: usd.token, source_currency_code: 'USD', destination_token: route.destination_token,
      destination_currency_code: 'USD', source_amount: 100.25, attr_set_token: attrSet.attr_set_token,
    };
    const key = `init-${run}`;
    payout = answer(await S.PayoutService.initiatePayout(user.user_token, body, undefined, key), 'PayoutService', 'initiatePayout');
    // The declared answer is PayoutTxnResp | PayoutTxnCommitResp; without
    // auto_commit it is the quote, which must hold PayoutTxnResp alone.
    holds(payout, modelType('PayoutTxnResp'), 'initiatePayout quote');
    assert.equal(payout.status, 'PENDING');
    const replay = await S.PayoutService.initiatePayout(user.user_token, body, undefined, key);
    assert.deepEqual(replay, payout, 'a replay with the same Idempotency-Key answers the same');
    const c = answer(await S.PayoutService.commitPayoutTxn(user.user_token, payout.payout_token, `commit-${run}`), 'PayoutService', 'commitPayoutTxn');
    assert.equal(c.status, 'success');
    const st = answer(await S.PayoutService.getPayoutStatus(user.user_token, payout.payout_token), 'PayoutService', 'getPayoutStatus');
    assert.equal(st.payout_token, payout.payout_token);
    const list = answer(await S.PayoutService.getUserPayoutsByToken(user.user_token), 'PayoutService', 'getUserPayoutsByToken');
    assert.ok(list.some((p) => p.payout_token === payout.payout_token));
    const pdf = answer(await S.PayoutService.getTransactionConfirmationDetails(user.user_token, payout.payout_token), 'PayoutService', 'getTransactionConfirmationDetails');
    assert.ok(Buffer.from(pdf.content, 'base64').toString('latin1').startsWith('%PDF'), 'content is a base64 PDF');
    await refusal(S.PayoutService.getPayoutStatus(user.user_token, 'payout_nope'), 404);
    await refusal(S.PayoutService.initiatePayout(user.user_token, { ...body, client_transfer_id: `${ctid}-bad`, source_amount: -1 }), 400);
  });

  await t.test('a second initiate with a committed client_transfer_id under a new key is DUPLICATE', async () => {
    const dup = answer(await S.PayoutService.initiatePayout(user.user_token, {
      client_transfer_id: ctid, source_token: usd.token, destination_token: route.destination_token,
      destination_currency_code: 'USD', source_amount: 100.25,
    }, undefined, `init2-${run}`), 'PayoutService', 'initiatePayout');
    holds(dup, modelType('PayoutTxnResp'), 'DUPLICATE answer');
    assert.equal(dup.payout_token, 'DUPLICATE');
  });

  await t.test('load (and replay), loads, resend load notification', async () => {
    const body = { client_load_id: `load-${run}`, source_token: usd.token, amount: 50, source_currency_code: 'USD', notes: 'sdk contract' };
    load = answer(await S.LoadService.loadUser(user.user_token, body, `load-${run}`), 'LoadService', 'loadUser');
    const replay = await S.LoadService.loadUser(user.user_token, body, `load-${run}`);
    assert.deepEqual(replay, load, 'a replayed load answers the same');
    const loads = answer(await S.LoadService.getUserLoadsByToken(user.user_token), 'LoadService', 'getUserLoadsByToken');
    assert.equal(loads.filter((l) => l.load_token === load.load_token).length, 1, 'the replay made no second load');
    const re = answer(await S.LoadService.resendLoadNotification(user.user_token, load.load_token), 'LoadService', 'resendLoadNotification');
    assert.equal(re.success, true);
    await refusal(S.LoadService.resendLoadNotification(user.user_token, 'ld_nope'), 404);
  });

  await t.test('wallets, resend balance notification', async () => {
    const ws = answer(await S.WalletService.getWallet(user.user_token), 'WalletService', 'getWallet');
    wallet = ws.find((w) => w.token === load.wallet_token);
    assert.ok(wallet, 'the loaded wallet is listed');
    assert.equal(wallet.balance, 50);
    const re = answer(await S.LoadService.resendBalanceNotification(user.user_token, wallet.token), 'LoadService', 'resendBalanceNotification');
    assert.equal(re.success, true);
  });

  await t.test('autopay add, list, delete', async () => {
    const rule = answer(await S.WalletService.createAutopayoutRule(user.user_token, wallet.token, {
      destination_token: route.destination_token, percentage: 50, attr_set_token: attrSet.attr_set_token,
    }), 'WalletService', 'createAutopayoutRule');
    holds({ destination_token: rule.destination_token, percentage: rule.percentage, attr_set_token: rule.attr_set_token }, modelType('AutopayRule'), 'AutopayRule');
    const rules = answer(await S.WalletService.getAutopayoutRules(user.user_token, wallet.token), 'WalletService', 'getAutopayoutRules');
    assert.ok(rules.some((r) => r.token === rule.token));
    answer(await S.WalletService.deleteAutopayoutRule(user.user_token, wallet.token, rule.token), 'WalletService', 'deleteAutopayoutRule');
    const left = answer(await S.WalletService.getAutopayoutRules(user.user_token, wallet.token), 'WalletService', 'getAutopayoutRules');
    assert.ok(!left.some((r) => r.token === rule.token));
  });

  await t.test('account statement', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const st = answer(await S.AccountService.getAccountStatement(today, today), 'AccountService', 'getAccountStatement');
    const pdf = Buffer.from(st.content, 'base64').toString('latin1');
    assert.ok(pdf.startsWith('%PDF') && pdf.includes(payout.payout_token), 'a PDF that lists the payout');
  });

  await t.test('user history and all users history', async () => {
    const h = answer(await S.UserService.getUserHistory(user.user_token), 'UserService', 'getUserHistory');
    assert.ok(h.some((r) => r.token === payout.payout_token && r.type === 'payout'));
    assert.ok(h.some((r) => r.token === load.load_token && r.type === 'load'));
    answer(await S.UserService.getAllUsersHistory(), 'UserService', 'getAllUsersHistory');
  });

  await t.test('tax: interview link and tax year users', async () => {
    const link = answer(await S.TaxService.getTaxInterviewLink(user.user_token, 'https://example.com/back'), 'TaxService', 'getTaxInterviewLink');
    assert.match(link.interview_url, /^https:\/\//);
    const users = answer(await S.TaxService.getTaxUsers(0, new Date().getUTCFullYear()), 'TaxService', 'getTaxUsers');
    assert.ok(users.some((u) => u.user_token === user.user_token));
  });

  await t.test('compliance hold: 403 in the error shape', async () => {
    const held = await S.UserService.createUser({
      internal_user_id: `sdk-hold-${run}`, country: 'USA', first_name: 'Hal', last_name: 'Held', email: `hal-${run}@kyc-hold.example`,
    });
    await refusal(S.PayoutService.initiatePayout(held.user_token, {
      source_token: usd.token, destination_token: route.destination_token, destination_currency_code: 'USD', source_amount: 20,
    }), 403);
  });

  await t.test('a wrong API key gets 401', async () => {
    const wrong = new MasspayJsSdk({ BASE: sb.base, AUTHORIZER_NAME_API_KEY: 'Bearer not-the-key' });
    await refusal(wrong.AccountService.getAccountBalance(), 401);
  });

  await t.test('SDK endpoints the sandbox does not serve answer JSON in the error shape', async () => {
    const calls = [
      () => S.SpendBackService.getUserSpendbacksByToken(user.user_token),
      () => S.CatalogService.getUserAgreement(1),
      () => S.KycService.getUserUserTokenKycAttempts(user.user_token),
      () => S.CardService.getWalletCardInfo(user.user_token, wallet.token),
      () => S.KycService.findAttributesVelocity(user.user_token, undefined, { values: [] }),
      () => S.SubaccountService.createSubaccount({}),
    ];
    for (const call of calls) {
      let err;
      try { await call(); } catch (e) { err = e; }
      assert.ok(err instanceof ApiError, `expected an ApiError, got ${err}`);
      assert.ok(err.status === 404 || err.status === 501, `${err.url}: status ${err.status}`);
      assert.equal(typeof err.body, 'object', `${err.url}: the answer is JSON, not ${JSON.stringify(err.body)}`);
      holds(err.body, modelType('Error404'), `${err.request.method} ${err.url}`);
    }
  });

  await t.test('the sandbox saw only SDK-shaped paths', () => {
    const paths = [...sb.log().replace(/\x1b\[[0-9;]*m/g, '').matchAll(/path=(\S+)/g)].map((m) => m[1]);
    assert.ok(paths.length > 20, 'the sandbox logged the requests');
    const odd = paths.filter((p) => !p.startsWith('/v1.0.0/payout/') && !p.startsWith('/v1.0.0/subaccount'));
    assert.deepEqual(odd, []);
  });
});

test('injected 500/502/504 faults answer in the SDK error shape', async () => {
  const faulty = await sandbox.start(KEY, ['--error-rate', '1', '--seed', '7']);
  try {
    const S = new MasspayJsSdk({ BASE: faulty.base, AUTHORIZER_NAME_API_KEY: `Bearer ${KEY}` });
    const seen = new Set();
    for (let i = 0; i < 12; i++) {
      let err;
      try { await S.AccountService.getAccountBalance(); } catch (e) { err = e; }
      assert.ok(err instanceof ApiError, `expected an ApiError, got ${err}`);
      // The SDK has no Error502; a 502 is held to the 500 model.
      const model = err.status === 504 ? 'Error504' : 'Error500';
      holds(err.body, modelType(model), `${model} (status ${err.status})`);
      seen.add(err.status);
    }
    assert.ok([...seen].every((s) => [500, 502, 504].includes(s)), `statuses ${[...seen]}`);
  } finally {
    await faulty.stop();
  }
});
