/**
 * Decoding of the payload of PushTelemetry (KIP-714): an OpenTelemetry `MetricsData` message
 * (opentelemetry/proto/metrics/v1, protobuf), described here field by field with protobufjs's
 * reflection API, only as far as Ferry reads it: metric names, the attributes of each data point,
 * and the value of gauges, sums, histograms and summaries (count and sum). Fields left out
 * (exemplars, buckets, units, resource attributes) are skipped by the decoder as unknown fields.
 *
 * Decoding turns the payload into a flat list of points; a payload that is not protobuf, or whose
 * fields have the wrong wire types, throws OtlpDecodeError (PushTelemetry answers INVALID_RECORD).
 */
import protobuf from 'protobufjs/light.js';

export class OtlpDecodeError extends Error {
  override readonly name = 'OtlpDecodeError';
}

/** One value a client pushed: a gauge or sum, or one of a histogram's or summary's count and sum. */
export interface OtlpPoint {
  /** The metric's name, with `.count` / `.sum` appended for histograms and summaries. */
  metric: string;
  /** The data point's attributes (e.g. node.id, topic), as strings. */
  attributes: Record<string, string>;
  value: number;
  /** Sum (counter) or gauge, as Prometheus would type it. */
  kind: 'gauge' | 'counter';
}

type FieldDef = [name: string, id: number, type: string, rule?: 'repeated'];

function message(name: string, fields: FieldDef[], oneofs: Record<string, string[]> = {}): protobuf.Type {
  const t = new protobuf.Type(name);
  for (const [fieldName, id, type, rule] of fields) t.add(new protobuf.Field(fieldName, id, type, rule));
  for (const [oneofName, members] of Object.entries(oneofs)) t.add(new protobuf.OneOf(oneofName, members));
  return t;
}

function buildRoot(): protobuf.Type {
  const ns = new protobuf.Root().define('otlp');
  ns.add(message('AnyValue', [
    ['stringValue', 1, 'string'], ['boolValue', 2, 'bool'], ['intValue', 3, 'int64'], ['doubleValue', 4, 'double'], ['bytesValue', 7, 'bytes'],
  ], { value: ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'bytesValue'] }));
  ns.add(message('KeyValue', [['key', 1, 'string'], ['value', 2, 'AnyValue']]));
  ns.add(message('NumberDataPoint', [
    ['attributes', 7, 'KeyValue', 'repeated'], ['timeUnixNano', 3, 'fixed64'], ['asDouble', 4, 'double'], ['asInt', 6, 'sfixed64'],
  ], { value: ['asDouble', 'asInt'] }));
  ns.add(message('HistogramDataPoint', [['attributes', 9, 'KeyValue', 'repeated'], ['count', 4, 'fixed64'], ['sum', 5, 'double']]));
  ns.add(message('ExponentialHistogramDataPoint', [['attributes', 1, 'KeyValue', 'repeated'], ['count', 4, 'fixed64'], ['sum', 5, 'double']]));
  ns.add(message('SummaryDataPoint', [['attributes', 7, 'KeyValue', 'repeated'], ['count', 4, 'fixed64'], ['sum', 5, 'double']]));
  ns.add(message('Gauge', [['dataPoints', 1, 'NumberDataPoint', 'repeated']]));
  ns.add(message('Sum', [['dataPoints', 1, 'NumberDataPoint', 'repeated'], ['aggregationTemporality', 2, 'int32'], ['isMonotonic', 3, 'bool']]));
  ns.add(message('Histogram', [['dataPoints', 1, 'HistogramDataPoint', 'repeated'], ['aggregationTemporality', 2, 'int32']]));
  ns.add(message('ExponentialHistogram', [['dataPoints', 1, 'ExponentialHistogramDataPoint', 'repeated'], ['aggregationTemporality', 2, 'int32']]));
  ns.add(message('Summary', [['dataPoints', 1, 'SummaryDataPoint', 'repeated']]));
  ns.add(message('Metric', [
    ['name', 1, 'string'], ['gauge', 5, 'Gauge'], ['sum', 7, 'Sum'], ['histogram', 9, 'Histogram'],
    ['exponentialHistogram', 10, 'ExponentialHistogram'], ['summary', 11, 'Summary'],
  ], { data: ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'] }));
  ns.add(message('ScopeMetrics', [['metrics', 2, 'Metric', 'repeated']]));
  ns.add(message('ResourceMetrics', [['scopeMetrics', 2, 'ScopeMetrics', 'repeated']]));
  ns.add(message('MetricsData', [['resourceMetrics', 1, 'ResourceMetrics', 'repeated']]));
  return ns.lookupType('MetricsData');
}

/** The MetricsData type (also used by tests to build payloads as a client would). */
export const METRICS_DATA = buildRoot();

const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, bytes: String, defaults: false, arrays: true };

function attributeValue(v: any): string {
  if (v === undefined || v === null) return '';
  if (v.stringValue !== undefined) return String(v.stringValue);
  if (v.intValue !== undefined) return String(v.intValue);
  if (v.doubleValue !== undefined) return String(v.doubleValue);
  if (v.boolValue !== undefined) return String(v.boolValue);
  if (v.bytesValue !== undefined) return String(v.bytesValue);
  return '';
}

function attributesOf(list: any[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list ?? []) if (typeof kv.key === 'string') out[kv.key] = attributeValue(kv.value);
  return out;
}

/** Decodes a MetricsData payload into points; at most `pointsMax` are returned (the rest are counted as dropped). */
export function decodeMetricsData(payload: Buffer, pointsMax: number): { points: OtlpPoint[]; dropped: number } {
  let data: any;
  try {
    data = METRICS_DATA.toObject(METRICS_DATA.decode(payload), TO_OBJECT);
  } catch (err) {
    throw new OtlpDecodeError(`not an OTLP MetricsData message: ${(err as Error).message}`);
  }
  const points: OtlpPoint[] = [];
  let dropped = 0;
  const push = (p: OtlpPoint) => { if (points.length < pointsMax) points.push(p); else dropped++; };
  for (const rm of data.resourceMetrics ?? []) {
    for (const sm of rm.scopeMetrics ?? []) {
      for (const m of sm.metrics ?? []) {
        const name = typeof m.name === 'string' ? m.name : '';
        if (name === '') continue;
        const numberPoints = (dps: any[] | undefined, kind: OtlpPoint['kind']) => {
          for (const dp of dps ?? []) {
            const value = dp.asDouble ?? dp.asInt;
            if (typeof value === 'number') push({ metric: name, attributes: attributesOf(dp.attributes), value, kind });
          }
        };
        const countAndSum = (dps: any[] | undefined) => {
          for (const dp of dps ?? []) {
            const attributes = attributesOf(dp.attributes);
            push({ metric: `${name}.count`, attributes, value: Number(dp.count ?? 0), kind: 'counter' });
            if (typeof dp.sum === 'number') push({ metric: `${name}.sum`, attributes, value: dp.sum, kind: 'counter' });
          }
        };
        if (m.gauge) numberPoints(m.gauge.dataPoints, 'gauge');
        else if (m.sum) numberPoints(m.sum.dataPoints, m.sum.isMonotonic ? 'counter' : 'gauge');
        else if (m.histogram) countAndSum(m.histogram.dataPoints);
        else if (m.exponentialHistogram) countAndSum(m.exponentialHistogram.dataPoints);
        else if (m.summary) countAndSum(m.summary.dataPoints);
      }
    }
  }
  return { points, dropped };
}
