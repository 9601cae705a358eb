/**
 * The validation that matters to sensorfleet, with the real field paths and messages
 * (pkg/apis/<group>/validation; 422 Invalid, https://kubernetes.io/docs/reference/using-api/api-concepts/#response-status-kind).
 */
import { matchesLabelSelector } from './selectors';
import type { ResourceType } from './resources';
import { errors } from './status';
import { isQuantity } from './quantity';
import { deepEqual } from './fieldsets';

type Cause = { field: string; type: string; detail: string };

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const goMap = (m: Record<string, string> | undefined) =>
  `map[string]string{${Object.entries(m ?? {}).map(([k, v]) => `"${k}":"${v}"`).join(', ')}}`;

function validateName(t: ResourceType, name: string | undefined, causes: Cause[]): void {
  if (!name) {
    causes.push({ field: 'metadata.name', type: 'FieldValueRequired', detail: 'Required value: name or generateName is required' });
    return;
  }
  const label = t.kind === 'Namespace';
  const ok = label ? DNS1123_LABEL.test(name) && name.length <= 63 : DNS1123_SUBDOMAIN.test(name) && name.length <= 253;
  if (!ok) {
    const what = label ? 'RFC 1123 label' : 'RFC 1123 subdomain';
    causes.push({
      field: 'metadata.name',
      type: 'FieldValueInvalid',
      detail: `Invalid value: "${name}": a lowercase ${what} must consist of lower case alphanumeric characters, '-'${label ? '' : " or '.'"}, and must start and end with an alphanumeric character`,
    });
  }
}

/**
 * Required node affinity (pkg/apis/core/validation: ValidateNodeSelector, validateNodeSelectorRequirement,
 * validateNodeFieldSelectorRequirement).
 */
function validateNodeAffinity(spec: any, path: string, causes: Cause[]): void {
  const required = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (!required) return;
  const p = `${path}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`;
  const terms: any[] = required.nodeSelectorTerms ?? [];
  if (terms.length === 0) causes.push({ field: p, type: 'FieldValueRequired', detail: 'Required value: must have at least one node selector term' });
  terms.forEach((term, i) => {
    (term?.matchExpressions ?? []).forEach((r: any, j: number) => {
      const rp = `${p}[${i}].matchExpressions[${j}]`;
      const n = (r?.values ?? []).length;
      switch (r?.operator) {
        case 'In':
        case 'NotIn':
          if (n === 0) causes.push({ field: `${rp}.values`, type: 'FieldValueRequired', detail: "Required value: must be specified when `operator` is 'In' or 'NotIn'" });
          break;
        case 'Exists':
        case 'DoesNotExist':
          if (n > 0) causes.push({ field: `${rp}.values`, type: 'FieldValueForbidden', detail: "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'" });
          break;
        case 'Gt':
        case 'Lt':
          if (n !== 1) causes.push({ field: `${rp}.values`, type: 'FieldValueRequired', detail: "Required value: must be specified single value when `operator` is 'Lt' or 'Gt'" });
          break;
        default:
          causes.push({ field: `${rp}.operator`, type: 'FieldValueInvalid', detail: `Invalid value: "${r?.operator ?? ''}": not a valid selector operator` });
      }
    });
    (term?.matchFields ?? []).forEach((r: any, j: number) => {
      const rp = `${p}[${i}].matchFields[${j}]`;
      if (r?.key !== 'metadata.name') causes.push({ field: `${rp}.key`, type: 'FieldValueNotSupported', detail: `Unsupported value: "${r?.key ?? ''}": supported values: "metadata.name"` });
      if (r?.operator !== 'In' && r?.operator !== 'NotIn') causes.push({ field: `${rp}.operator`, type: 'FieldValueInvalid', detail: `Invalid value: "${r?.operator ?? ''}": not a valid selector operator` });
      else if ((r?.values ?? []).length !== 1) causes.push({ field: `${rp}.values`, type: 'FieldValueRequired', detail: "Required value: must be only one value when `operator` is 'In' or 'NotIn' for node field selector" });
    });
  });
}

function validatePodSpec(spec: any, path: string, causes: Cause[]): void {
  validateNodeAffinity(spec, path, causes);
  const containers: any[] = spec?.containers ?? [];
  if (containers.length === 0) causes.push({ field: `${path}.containers`, type: 'FieldValueRequired', detail: 'Required value' });
  const names = new Set<string>();
  containers.forEach((c, i) => {
    const p = `${path}.containers[${i}]`;
    if (!c?.name) causes.push({ field: `${p}.name`, type: 'FieldValueRequired', detail: 'Required value' });
    else if (names.has(c.name)) causes.push({ field: `${p}.name`, type: 'FieldValueDuplicate', detail: `Duplicate value: "${c.name}"` });
    else names.add(c.name);
    if (!c?.image) causes.push({ field: `${p}.image`, type: 'FieldValueRequired', detail: 'Required value' });
    for (const kind of ['requests', 'limits'] as const)
      for (const [r, q] of Object.entries(c?.resources?.[kind] ?? {}))
        if (!isQuantity(q)) causes.push({ field: `${p}.resources.${kind}[${r}]`, type: 'FieldValueInvalid', detail: `Invalid value: "${String(q)}": must be a valid quantity` });
    const mounts = new Set((spec?.volumes ?? []).map((v: any) => v?.name));
    (c?.volumeMounts ?? []).forEach((m: any, j: number) => {
      if (!mounts.has(m?.name)) causes.push({ field: `${p}.volumeMounts[${j}].name`, type: 'FieldValueNotFound', detail: `Not found: "${m?.name}"` });
    });
  });
}

/** Throws 422 Invalid. `old` is the stored object on update (immutable fields). */
export function validate(t: ResourceType, obj: any, old?: any): void {
  const causes: Cause[] = [];
  validateName(t, obj?.metadata?.name, causes);
  if (t.kind === 'DaemonSet') {
    const spec = obj.spec ?? {};
    const sel = spec.selector;
    const tplLabels = spec.template?.metadata?.labels;
    if (!sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0)) {
      causes.push({ field: 'spec.selector', type: 'FieldValueRequired', detail: 'Required value' });
    } else if (!matchesLabelSelector(sel, tplLabels)) {
      causes.push({ field: 'spec.template.metadata.labels', type: 'FieldValueInvalid', detail: `Invalid value: ${goMap(tplLabels)}: \`selector\` does not match template \`labels\`` });
    }
    if (old && !deepEqual(old.spec?.selector, sel)) {
      causes.push({ field: 'spec.selector', type: 'FieldValueInvalid', detail: `Invalid value: ${JSON.stringify(sel)}: field is immutable` });
    }
    validatePodSpec(spec.template?.spec, 'spec.template.spec', causes);
    const rp = spec.template?.spec?.restartPolicy;
    if (rp && rp !== 'Always') causes.push({ field: 'spec.template.spec.restartPolicy', type: 'FieldValueNotSupported', detail: `Unsupported value: "${rp}": supported values: "Always"` });
    const ru = spec.updateStrategy?.rollingUpdate;
    if (ru && String(ru.maxUnavailable) === '0' && String(ru.maxSurge ?? 0) === '0') {
      causes.push({ field: 'spec.updateStrategy.rollingUpdate.maxUnavailable', type: 'FieldValueInvalid', detail: 'Invalid value: 0: may not be 0 when `maxSurge` is 0' });
    }
  }
  if (t.kind === 'Pod') validatePodSpec(obj.spec, 'spec', causes);
  if (causes.length > 0) throw errors.invalid(t, obj?.metadata?.name ?? '', causes);
}
