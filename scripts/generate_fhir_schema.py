#!/usr/bin/env python3
"""Generates Sources/FHIR/Schema/FHIRSchemaData.swift from the FHIR R4 (4.0.1)
definitions in ../shared/corpus/fhir/definitions: every resource and data type
(elements, cardinalities, types, bindings, invariants), the value sets of the
required bindings expanded from the code systems at hand, the 1,375 search
parameters and the compartment definitions. The data is one compact JSON text
that the FHIR module reads once, so the binary carries its definitions.

Run from the repository root: python3 scripts/generate_fhir_schema.py
"""
import json, os, sys

DEFS = os.path.join(os.path.dirname(__file__), '..', '..', 'shared', 'corpus', 'fhir', 'definitions')
OUT = os.path.join(os.path.dirname(__file__), '..', 'Sources', 'FHIR', 'Schema', 'FHIRSchemaData.swift')

def load(name):
    with open(os.path.join(DEFS, name), encoding='utf-8') as f:
        return json.load(f)

resources = [e['resource'] for e in load('profiles-resources.json')['entry']]
datatypes = [e['resource'] for e in load('profiles-types.json')['entry']]

constraints, constraint_index = [], {}
def constraint_ref(c):
    key = (c['key'], c['severity'], c.get('expression', ''), c.get('human', ''))
    if not key[2]:
        return None
    if key not in constraint_index:
        constraint_index[key] = len(constraints)
        constraints.append(list(key))
    return constraint_index[key]

def type_code(t):
    code = t['code']
    if code.startswith('http://hl7.org/fhirpath/System.'):
        return 'System.' + code.rsplit('.', 1)[1]
    return code

required_value_sets = set()
types = []
for sd in datatypes + resources:
    if sd.get('derivation') == 'constraint':
        continue  # SimpleQuantity, MoneyQuantity: profiles, not types
    name = sd['id']
    base = sd.get('baseDefinition', '').rsplit('/', 1)[-1] if sd.get('baseDefinition') else ''
    elements = sd['snapshot']['element']
    by_type = {name: {'name': name, 'kind': sd['kind'], 'base': base, 'abstract': sd.get('abstract', False),
                      'constraints': [], 'elements': []}}
    order = [name]
    for el in elements:
        path = el['path']
        if path == name:
            by_type[name]['constraints'] = [i for i in (constraint_ref(c) for c in el.get('constraint', [])) if i is not None]
            continue
        parent, _, field = path.rpartition('.')
        owner = by_type.get(parent)
        if owner is None:
            continue
        choice = field.endswith('[x]')
        field = field[:-3] if choice else field
        tcodes = [type_code(t) for t in el.get('type', [])]
        content_ref = el.get('contentReference', '')
        if content_ref:
            content_ref = content_ref.lstrip('#')
            tcodes = [content_ref]
        elif tcodes in (['BackboneElement'], ['Element']) and any(e['path'].startswith(path + '.') for e in elements):
            by_type[path] = {'name': path, 'kind': 'backbone', 'base': tcodes[0], 'abstract': False,
                             'constraints': [], 'elements': []}
            order.append(path)
            tcodes = [path]
        binding = el.get('binding') or {}
        strength = binding.get('strength', '')
        value_set = binding.get('valueSet', '')
        if strength == 'required' and value_set:
            required_value_sets.add(value_set)
        refs = [i for i in (constraint_ref(c) for c in el.get('constraint', [])) if i is not None]
        maximum = -1 if el['max'] == '*' else int(el['max'])
        targets = []
        for t in el.get('type', []):
            for p in t.get('targetProfile', []):
                targets.append(p.rsplit('/', 1)[-1])
        owner['elements'].append([field, el['min'], maximum, tcodes, 1 if choice else 0, strength, value_set, refs, targets,
                                  1 if el.get('isSummary') else 0])
    for key in order:
        types.append(by_type[key])

# Value sets of required bindings, expanded from the code systems in the corpus.
systems, value_sets = {}, {}
for bundle in ('valuesets.json', 'v3-codesystems.json', 'v2-tables.json'):
    for e in load(bundle)['entry']:
        r = e['resource']
        (systems if r['resourceType'] == 'CodeSystem' else value_sets)[r['url']] = r

def flatten(concepts, out, parent_chain=()):
    for c in concepts:
        out.append((c['code'], parent_chain))
        flatten(c.get('concept', []), out, parent_chain + (c['code'],))

def system_codes(url, filters):
    cs = systems.get(url)
    if cs is None or cs.get('content') not in ('complete', None) or not cs.get('concept'):
        return None
    flat = []
    flatten(cs['concept'], flat)
    codes = []
    for code, chain in flat:
        keep = True
        for f in filters:
            if f.get('property') == 'concept' and f.get('op') == 'is-a':
                keep = keep and (code == f['value'] or f['value'] in chain)
            elif f.get('property') == 'concept' and f.get('op') == 'descendent-of':
                keep = keep and f['value'] in chain
            elif f.get('property') == 'concept' and f.get('op') == 'is-not-a':
                keep = keep and not (code == f['value'] or f['value'] in chain)
            else:
                return None
        if keep:
            codes.append(code)
    return codes

def expand(url, depth=0):
    url = url.split('|')[0]
    vs = value_sets.get(url)
    if vs is None or depth > 8:
        return None
    compose = vs.get('compose')
    if not compose:
        return None
    result = []
    for inc in compose.get('include', []):
        part = None
        if 'concept' in inc:
            part = [inc['system'] + '|' + c['code'] for c in inc['concept']]
        elif 'system' in inc:
            codes = system_codes(inc['system'], inc.get('filter', []))
            if codes is None:
                return None
            part = [inc['system'] + '|' + c for c in codes]
        else:
            part = []
        for ref in inc.get('valueSet', []):
            nested = expand(ref, depth + 1)
            if nested is None:
                return None
            part = [c for c in nested if c in part] if part else nested
        result.extend(part)
    for exc in compose.get('exclude', []):
        if 'concept' in exc:
            gone = {exc['system'] + '|' + c['code'] for c in exc['concept']}
            result = [c for c in result if c not in gone]
        else:
            return None
    seen, unique = set(), []
    for c in result:
        if c not in seen:
            seen.add(c)
            unique.append(c)
    return unique

expanded = {}
for url in sorted(required_value_sets):
    codes = expand(url)
    if codes is not None:
        expanded[url.split('|')[0]] = codes

search = []
for e in load('search-parameters.json')['entry']:
    p = e['resource']
    comps = [[c['definition'], c['expression']] for c in p.get('component', [])]
    search.append([p['code'], p['type'], p['base'], p.get('expression', ''), p.get('target', []), comps, p['url']])

compartments = {}
folder = os.path.join(DEFS, 'compartments')
for name in sorted(os.listdir(folder)):
    with open(os.path.join(folder, name), encoding='utf-8') as f:
        c = json.load(f)
    compartments[c['code']] = {r['code']: r['param'] for r in c.get('resource', []) if r.get('param')}

data = {'types': types, 'constraints': constraints, 'valueSets': expanded, 'searchParameters': search,
        'compartments': compartments}
text = json.dumps(data, ensure_ascii=False, separators=(',', ':'))
assert '"""#' not in text
chunks = [text[i:i + 200000] for i in range(0, len(text), 200000)]
with open(OUT, 'w', encoding='utf-8') as f:
    f.write('// Generated by scripts/generate_fhir_schema.py from the FHIR R4 4.0.1 definitions. Do not edit.\n')
    f.write('// %d types, %d invariants, %d expanded required value sets (of %d bound), %d search parameters.\n'
            % (len(types), len(constraints), len(expanded), len(required_value_sets), len(search)))
    f.write('\nenum FHIRSchemaData {\n    static let chunks: [String] = [\n')
    for c in chunks:
        f.write('        #"""\n' + c + '\n"""#,\n')
    f.write('    ]\n}\n')
print('types', len(types), 'constraints', len(constraints), 'value sets', len(expanded), '/', len(required_value_sets),
      'search', len(search), 'bytes', len(text))
