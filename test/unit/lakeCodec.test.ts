import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { athenaColumnType, athenaOptionsFromEnv, decodeAthenaValue } from '../../api/engines/athenaEngine.ts';
import { isoTimestamp } from '../../api/engines/queryEngine.ts';
import { compareCodePoints } from '../../models/customer/customerIds.ts';
import { javaDouble } from '../support/athenaEndpoint.ts';

describe('Athena result decoding', () => {
  it('maps ColumnInfo type names to the port types', () => {
    expect(athenaColumnType('varchar')).toBe('varchar');
    expect(athenaColumnType('char(3)')).toBe('varchar');
    expect(athenaColumnType('bigint')).toBe('bigint');
    expect(athenaColumnType('integer')).toBe('integer');
    expect(athenaColumnType('smallint')).toBe('integer');
    expect(athenaColumnType('double')).toBe('double');
    expect(athenaColumnType('float')).toBe('double');
    expect(athenaColumnType('decimal(38,2)')).toBe('decimal');
    expect(athenaColumnType('date')).toBe('date');
    expect(athenaColumnType('timestamp')).toBe('timestamp');
    expect(athenaColumnType('boolean')).toBe('boolean');
    expect(() => athenaColumnType('array<varchar>')).toThrow(/unsupported/);
  });

  it('decodes text cells by type; a missing VarCharValue is NULL', () => {
    expect(decodeAthenaValue(undefined, 'varchar')).toBeNull();
    expect(decodeAthenaValue('', 'varchar')).toBe('');
    expect(decodeAthenaValue('12345678901', 'bigint')).toBe(12345678901);
    expect(decodeAthenaValue('1.0E7', 'double')).toBe(1e7);
    expect(decodeAthenaValue('12.50', 'decimal')).toBe(12.5);
    expect(decodeAthenaValue('2010-12-01', 'date')).toBe('2010-12-01');
    expect(decodeAthenaValue('2010-12-01 08:26:00.000', 'timestamp')).toBe('2010-12-01T08:26:00.000Z');
    expect(decodeAthenaValue('2010-12-01 08:26:00.123456', 'timestamp')).toBe('2010-12-01T08:26:00.123Z');
    expect(decodeAthenaValue('2010-12-01 08:26:00', 'timestamp')).toBe('2010-12-01T08:26:00.000Z');
    expect(decodeAthenaValue('true', 'boolean')).toBe(true);
    expect(decodeAthenaValue('false', 'boolean')).toBe(false);
    expect(() => decodeAthenaValue('abc', 'bigint')).toThrow(/not a number/);
    expect(() => isoTimestamp('yesterday')).toThrow(/not a timestamp/);
  });

  it("reads back every double in Java's notation", () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (value) => {
        expect(decodeAthenaValue(javaDouble(value), 'double')).toBe(value);
      }),
    );
    expect(javaDouble(100)).toBe('100.0');
    expect(javaDouble(1e7)).toBe('1.0E7');
    expect(javaDouble(1.5e-4)).toBe('1.5E-4');
    expect(javaDouble(0.25)).toBe('0.25');
  });
});

describe('athenaOptionsFromEnv', () => {
  it('reads the ATHENA_* names and AWS_REGION', () => {
    expect(
      athenaOptionsFromEnv({
        ATHENA_DATABASE: 'demand_insights_lake',
        ATHENA_WORKGROUP: 'demand-insights',
        ATHENA_OUTPUT_LOCATION: 's3://lake/athena-results/',
        AWS_REGION: 'eu-west-1',
        ATHENA_RESULT_REUSE_MINUTES: '15',
      }),
    ).toEqual({
      database: 'demand_insights_lake',
      workgroup: 'demand-insights',
      outputLocation: 's3://lake/athena-results/',
      region: 'eu-west-1',
      resultReuseMinutes: 15,
      timeoutMs: undefined,
    });
  });

  it('names what is missing or malformed', () => {
    expect(() => athenaOptionsFromEnv({ ATHENA_WORKGROUP: 'w' })).toThrow(/ATHENA_DATABASE/);
    expect(() => athenaOptionsFromEnv({ ATHENA_DATABASE: 'd' })).toThrow(/ATHENA_WORKGROUP/);
    expect(() => athenaOptionsFromEnv({ ATHENA_DATABASE: 'd', ATHENA_WORKGROUP: 'w', ATHENA_TIMEOUT_MS: '5s' })).toThrow(/ATHENA_TIMEOUT_MS/);
  });
});

describe('compareCodePoints', () => {
  it('orders strings as SQL engines order VARCHAR (by code point, i.e. UTF-8 bytes)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme' }), { maxLength: 20 }), (values) => {
        const byBytes = [...values].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
        expect([...values].sort(compareCodePoints)).toEqual(byBytes);
      }),
    );
    // UTF-16 order puts U+FF5E after U+1F600's surrogates; code point order puts it before.
    expect(['😀', '～'].sort(compareCodePoints)).toEqual(['～', '😀']);
  });
});
