"""Where a backend's time per query goes, from `perf report --no-children
--sort dso,sym --stdio -g none` output on stdin: samples grouped into the
parts of a query's path.  Prints one JSON line.

Usage: profile_split.py KIND ENGINE EF QPS [POSTGRES_BINARY] < report
Debian's postgres binary keeps only exported symbols; a sample in a static
function (PinBuffer, LWLockAttemptLock, ...) shows as a bare address and is
put with the exported functions around it when the binary is given.
"""
import bisect
import json
import re
import subprocess
import sys

# first match wins; symbols are matched as whole names or prefixes
PARTS = [
    ('distance', r'(is_dot|is_l2|vector_negative_inner|vector_cosine|vector_l2|.*_distance|'
                 r'VectorCosine|VectorL2|VectorInner|halfvec)'),
    ('buffer access', r'(ReadRecentBuffer|ReadBuffer|PinBuffer|UnpinBuffer|LockBuffer|'
                      r'UnlockReleaseBuffer|ReleaseBuffer|LWLock|LockBufHdr|BufTable|'
                      r'hash_search|hash_bytes|uint32_hash|GetPrivateRefCount|'
                      r'ResourceOwner|hnsw_pin_buffer|hnsw_guess_buffer|BufferGetBlockNumber|'
                      r'ReservePrivateRefCount|WaitBufHdrUnlocked|StartReadBuffer|'
                      r'PrefetchBuffer|ReadBufferExtended|ReadBuffer_common)'),
    ('heap fetch', r'(heap_|heapam_|index_fetch_heap|HeapTuple|table_index_fetch|'
                   r'ExecStoreBufferHeapTuple|HeapCheck|XidInMVCCSnapshot|'
                   r'TransactionIdIsCurrent)'),
    ('input parsing', r'(__GI_____strtof|strtof|str_to_mpn|__mpn_|round_and_return|'
                      r'embedding_in|vector_in|float_to_shortest|pg_strtof)'),
]
GRAPH_DSOS = ('instsim.so', 'vector.so')


def exported(binary):
    out = subprocess.run(['nm', '-D', '--defined-only', binary], capture_output=True,
                         text=True, check=True).stdout
    return sorted((int(f[0], 16), f[2]) for f in (line.split() for line in out.splitlines())
                  if len(f) == 3)


def neighbours(syms, addr):
    i = bisect.bisect_right(syms, (addr, '\uffff'))
    return [syms[j][1] for j in (i - 1, i) if 0 <= j < len(syms)]


def part(dso, sym, syms):
    names = [sym]
    if syms and sym.startswith('0x') and dso == 'postgres':
        names = neighbours(syms, int(sym, 16))
    for name, pat in PARTS:
        if any(re.match(pat, n) for n in names):
            return name
    if dso in GRAPH_DSOS:
        return 'graph search'
    if dso.startswith('[kernel'):
        return 'kernel (socket, scheduling)'
    return 'executor and protocol'


kind, engine, ef, qps = sys.argv[1:5]
syms = exported(sys.argv[5]) if len(sys.argv) > 5 else None
split = {}
for line in sys.stdin:
    m = re.match(r'\s*([\d.]+)%\s+(\S+)\s+\[[.k]\]\s+(\S+)', line)
    if m:
        pct, dso, sym = float(m.group(1)), m.group(2), m.group(3)
        p = part(dso, sym, syms)
        split[p] = split.get(p, 0.0) + pct
print(json.dumps({'kind': kind, 'engine': engine, 'profile_ef': int(ef), 'qps': int(qps),
                  'split_pct': {k: round(v, 1) for k, v in sorted(split.items(),
                                                                  key=lambda kv: -kv[1])}}))
