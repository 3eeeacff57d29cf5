// Where the explorer asks: its own host first (`base`, the origin that served the page, or
// the host a stand-alone explorer was pointed at), then, for a chain that host does not hold,
// the chain's validators as the root's directory lists them. Hosts are only sources: what
// they answer is checked (trust.js).

// A request that does not answer within this long is given up.
export const REQUEST_TIMEOUT_MS = 10_000;

export class Api {
  constructor(base) {
    this.base = base.replace(/\/$/, '');
    this.hosts = new Map();
    this.rootInfo = null;
  }

  async fetchJson(base, path) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    try {
      const response = await fetch(base + path, { signal: controller.signal });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) {
        const error = new Error(body.error || `${response.status} from ${base}${path}`);
        error.status = response.status;
        throw error;
      }
      return body;
    } finally {
      clearTimeout(timer);
    }
  }

  // The root chain this explorer's host follows (`GET /root`).
  root() {
    if (!this.rootInfo) {
      this.rootInfo = this.fetchJson(this.base, '/root');
      this.rootInfo.catch(() => (this.rootInfo = null));
    }
    return this.rootInfo;
  }

  // `path` about `chain`: from this explorer's host, or one of the chain's validators.
  async get(chain, path) {
    try {
      return await this.fetchJson(this.base, path);
    } catch (error) {
      if (error.status !== 404 || !chain) throw error;
      for (const host of await this.chainHosts(chain)) {
        try {
          return await this.fetchJson(host, path);
        } catch (_) {
          // The next validator.
        }
      }
      throw error;
    }
  }

  // What this explorer's host answers, about no chain in particular.
  local(path) {
    return this.fetchJson(this.base, path);
  }

  // The API URLs of the chain's validators, from the root's directory.
  chainHosts(chain) {
    if (!this.hosts.has(chain)) {
      const found = this.fetchJson(this.base, `/root/chains/${chain}`).then((entry) =>
        entry.validators
          .map((v) => v.entry && v.entry.api_url)
          .filter((url) => url && url.replace(/\/$/, '') !== this.base),
      );
      found.catch(() => this.hosts.delete(chain));
      this.hosts.set(chain, found);
    }
    return this.hosts.get(chain);
  }

  // The URL of a chain's event stream on a host that holds it.
  async events(chain) {
    try {
      await this.fetchJson(this.base, `/chains/${chain}`);
      return `${this.base}/events?chain=${chain}`;
    } catch (_) {
      const [host] = await this.chainHosts(chain);
      return host ? `${host}/events?chain=${chain}` : null;
    }
  }
}
