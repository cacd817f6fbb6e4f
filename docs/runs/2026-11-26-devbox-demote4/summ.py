"""Median and max of every JMH iteration per benchmark and variant: python3 summ.py DIR (the JSON files of one comparison)."""
import collections, glob, json, statistics, sys

d = collections.defaultdict(list)
for f in sorted(glob.glob(sys.argv[1] + '/*.json')):
    variant = f.rsplit('/', 1)[1].split('-')[1]  # TAG-VARIANT-rN.json
    try:
        data = json.load(open(f))
    except ValueError:
        continue
    for b in data:
        p = b.get('params', {})
        key = (b['benchmark'].split('.')[-1],) + tuple(f'{k}={v}' for k, v in sorted(p.items()))
        for it in b['primaryMetric']['rawData']:
            d[(key, variant)] += it
for (key, variant), v in sorted(d.items()):
    print(f"{variant:10} {' '.join(key):70} median {statistics.median(v) / 1e6:7.1f}  max {max(v) / 1e6:7.1f} M ops/s  ({len(v)} iterations)")
