"""The resources of a devnet that .ci/schemathesis tests reach, as schemathesis
dictionaries (one libFuzzer-style file each, in the directory given): the demo chain and
another one, the demo chain's owner and one of its committed transactions, the first host,
and valid ids (bech32m) of an escrow and a channel that do not exist. Prints the first host's API address.

Usage: resources.py DEVNET_JSON OUT_DIR"""
import os
import json
import sys
import urllib.request

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
BECH32M = 0x2BC830A3


def polymod(values):
    generator = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    check = 1
    for value in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            check ^= generator[i] if (top >> i) & 1 else 0
    return check


def bech32m(prefix, data):
    bits, acc, words = 0, 0, []
    for byte in data:
        acc = (acc << 8) | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            words.append((acc >> bits) & 31)
    if bits:
        words.append((acc << (5 - bits)) & 31)
    expanded = [ord(c) >> 5 for c in prefix] + [0] + [ord(c) & 31 for c in prefix]
    value = polymod(expanded + words + [0] * 6) ^ BECH32M
    checksum = [(value >> 5 * (5 - i)) & 31 for i in range(6)]
    return prefix + "1" + "".join(CHARSET[w] for w in words + checksum)


def get(api, path):
    with urllib.request.urlopen(f"http://{api}{path}", timeout=10) as answer:
        return json.load(answer)


devnet = json.load(open(sys.argv[1]))
api = devnet["hosts"][0]["api"]
chain = devnet["demo_chain"]
others = [c["chain_id"] for c in get(api, "/chains")["chains"] if c["chain_id"] != chain]
owner = get(api, f"/chains/{chain}")["owner"]
tx = get(api, f"/chains/{chain}/accounts/{owner}/txs")["txs"][0]["tx"]["hash"]
values = {
    "chain": chain,
    "other-chain": others[0],
    "account": owner,
    "tx": tx,
    "host": devnet["hosts"][0]["id"],
    "escrow": bech32m("escrow", bytes(range(32))),
    "channel": bech32m("chan", bytes(range(32))),
}
out = sys.argv[2]
os.makedirs(out, exist_ok=True)
for name, value in values.items():
    with open(os.path.join(out, f"{name}.dict"), "w") as file:
        file.write(f'"{value}"\n')
print(api)
