// Runs the explorer's checks (web/trust.js, the code the page runs) in Node against a host,
// for the tests: `node check.mjs API_URL CASES_FILE` prints one JSON result per case. A
// case may corrupt one field of the answers to requests whose path contains `corrupt.path`,
// as a lying host would: flip the hex digit at `corrupt.flip` of `corrupt.field`, or set the
// field to `corrupt.value`. `root` pins the root chain the checks trust.

import { readFileSync } from 'node:fs';
import { Api } from '../web/api.js';
import { Trust, check } from '../web/trust.js';

class LyingApi extends Api {
  constructor(base, corrupt) {
    super(base);
    this.corrupt = corrupt;
  }

  async fetchJson(base, path) {
    const body = await super.fetchJson(base, path);
    const lie = this.corrupt;
    if (!lie || !path.includes(lie.path)) return body;
    const target = lie.within ? body[lie.within] : body;
    if ('value' in lie) {
      target[lie.field] = lie.value;
    } else {
      const text = target[lie.field];
      const digit = text[lie.flip] === '0' ? '1' : '0';
      target[lie.field] = text.slice(0, lie.flip) + digit + text.slice(lie.flip + 1);
    }
    return body;
  }
}

const checks = {
  genesis: async (trust, api, c) =>
    trust.genesisShown(c.chain, await api.get(c.chain, `/chains/${c.chain}/genesis`)),
  chain: async (trust, api, c) => trust.chain(c.chain, await api.get(c.chain, `/chains/${c.chain}`)),
  block: async (trust, _, c) => (await trust.block(c.chain, c.height)).how,
  account: async (trust, api, c) =>
    trust.account(c.chain, c.address, await api.get(c.chain, `/chains/${c.chain}/accounts/${c.address}`)),
  object: async (trust, api, c) => {
    const path = c.kind === 'Escrow' ? 'escrows' : 'channels';
    return trust.object(c.chain, c.kind, c.id, await api.get(c.chain, `/chains/${c.chain}/${path}/${c.id}`));
  },
  anchor: (trust, _, c) => trust.anchorAgrees(c.chain),
};

const [base, file] = process.argv.slice(2);
for (const c of JSON.parse(readFileSync(file, 'utf8'))) {
  const api = new LyingApi(base, c.corrupt);
  const trust = new Trust(api, c.root ?? null);
  const result = await check(c.check, () => checks[c.check](trust, api, c));
  console.log(JSON.stringify({ name: c.name, ...result }));
}
