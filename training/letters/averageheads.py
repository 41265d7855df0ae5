"""Average two of Magpie's linear (logistic) heads over the same features into one.

usage: averageheads.py A.head B.head OUT.head [WEIGHT_OF_A]
The result's logits are w * A's + (1 - w) * B's (w = 0.5 by default), folded
into one head with A's standardisation: the same file format, the same cost.
Used for the letters backbone's prior head (make-letters-backbone.sh).
"""
import struct, sys
import numpy as np

MAGIC_LEN = 8
SEED = 1469598103934665603  # training/backboneformat.h fnv1a64's seed

def fnv(data):
    h = SEED
    for c in data:
        h ^= c
        h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h

def read(path):
    raw = open(path, 'rb').read()
    body, (sum_,) = raw[:-8], struct.unpack('<Q', raw[-8:])
    if fnv(body) != sum_: sys.exit(path + ': checksum mismatch')
    C, D, hid = struct.unpack('<iii', body[8:20])
    if hid: sys.exit(path + ': not a logistic head (it has a hidden layer)')
    p, ts = 20, []
    for _ in range(6):
        (k,) = struct.unpack('<i', body[p:p + 4]); p += 4
        ts.append(np.frombuffer(body[p:p + 4 * k], np.float32).astype(np.float64) if k > 0 else None); p += 4 * k
    mean, inv, _, _, w, b = ts
    return body[:MAGIC_LEN], C, D, mean, inv, w.reshape(C, D), b

def main():
    if len(sys.argv) not in (4, 5): sys.exit(__doc__)
    wa = float(sys.argv[4]) if len(sys.argv) == 5 else 0.5
    magic, C, D, ma, ia, Wa, ba = read(sys.argv[1])
    _, C2, D2, mb, ib, Wb, bb = read(sys.argv[2])
    if (C, D) != (C2, D2): sys.exit('the heads differ in classes or features')
    # B's logits in A's standardisation: ((x - ma) * ia) @ (Wb * ib / ia).T + ((ma - mb) * ib) @ Wb.T + bb
    W = wa * Wa + (1 - wa) * Wb * (ib / ia)[None, :]
    b = wa * ba + (1 - wa) * (bb + Wb @ ((ma - mb) * ib))
    out = bytearray(magic) + struct.pack('<iii', C, D, 0)
    for t in (ma, ia, None, None, W.ravel(), b):
        if t is None: out += struct.pack('<i', 0); continue
        t = np.ascontiguousarray(t, np.float32)
        out += struct.pack('<i', t.size) + t.tobytes()
    out += struct.pack('<Q', fnv(bytes(out)))
    open(sys.argv[3], 'wb').write(bytes(out))
    print('wrote', sys.argv[3], '(%d classes, %d features, %.2f of %s)' % (C, D, wa, sys.argv[1]))

if __name__ == '__main__':
    main()
