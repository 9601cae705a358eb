import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/load';
import { SENSOR_DEFAULTS, sensorSchema } from '../../shared/config/schema';
import { QUALYS_DEFAULTS, qualysConfigSchema } from '../../shared/qualys/config';

/**
 * The sensor and Qualys sections are built on first use (z.lazy), and a configuration that leaves one
 * out gets its defaults written out as constants (building schemas is most of what parsing the
 * configuration costs a CLI run). The constants must be what the schemas give for an empty section.
 */
describe('written-out defaults of the sections built on first use', () => {
  it('SENSOR_DEFAULTS is what the sensor schema gives for an empty section', () => {
    expect(SENSOR_DEFAULTS).toEqual(sensorSchema.parse({}));
  });

  it('QUALYS_DEFAULTS is what the Qualys schema gives for an empty section', () => {
    expect(QUALYS_DEFAULTS).toEqual(qualysConfigSchema.parse({}));
  });

  it('a configuration without the sections gets them, equal to parsing them empty', () => {
    const omitted = parseConfig({});
    const empty = parseConfig({ sensor: {}, qualys: {} });
    expect(omitted.sensor).toEqual(empty.sensor);
    expect(omitted.qualys).toEqual(empty.qualys);
  });

  it('each configuration gets its own copy: a change to one does not reach the next', () => {
    const first = parseConfig({});
    first.sensor.args.push('--changed');
    first.qualys.schedules.registries.push({ uri: 'https://example.com', type: 'V2', schedules: [] });
    const second = parseConfig({});
    expect(second.sensor.args).toEqual(['--registry-sensor', '--enable-console-logs']);
    expect(second.qualys.schedules.registries).toEqual([]);
    expect(SENSOR_DEFAULTS.args).toEqual(['--registry-sensor', '--enable-console-logs']);
  });

  it('sections given are still checked in full, with their paths', () => {
    expect(() => parseConfig({ sensor: { resources: { requests: { cpu: 'lots', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } } } })).toThrow(
      /sensor\.resources\.requests\.cpu: a Kubernetes quantity/,
    );
    expect(() => parseConfig({ qualys: { schedules: { registries: [{ uri: 'https://r.example', type: 'V2', schedules: [{ name: 'n', every: 'weekly', at: '01:00', repositories: [{ repo: 'a' }] }] }] } } })).toThrow(
      /qualys\.schedules\.registries\.0\.schedules\.0\.weekDay: weekly schedules need weekDay/,
    );
  });
});
