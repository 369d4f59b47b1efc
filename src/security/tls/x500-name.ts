/**
 * A certificate's subject as Kafka sees it: Java's X500Principal.getName(), the RFC 2253 string that
 * DefaultKafkaPrincipalBuilder hands to the principal mapping rules. Read from the certificate's DER
 * (Node's X509Certificate.subject is OpenSSL's own format), following sun.security.x509's
 * X500Name/RDN/AVA:
 * - RDNs last to first (a cert made with -subj "/C=US/O=Acme/CN=alice" is "CN=alice,O=Acme,C=US");
 *   the values of a multi-valued RDN in their encoded order, joined by '+';
 * - only RFC 2253's keywords (CN C L ST O OU STREET DC UID); any other attribute is its dotted OID with
 *   '#' and the hex of the value's DER (emailAddress is "1.2.840.113549.1.9.1=#16...");
 * - `, = + < > # ; " \` escaped with '\' wherever they are, NUL as \00, and leading or trailing
 *   spaces (and CRs) escaped.
 * No I/O.
 */

export class X500NameError extends Error {
  readonly code = 'BAD_X500_NAME';
  constructor(detail: string) {
    super(`certificate subject cannot be read: ${detail}`);
    this.name = 'X500NameError';
  }
}

const TAG_INTEGER = 0x02;
const TAG_OID = 0x06;
const TAG_SEQUENCE = 0x30;
const TAG_SET = 0x31;
const TAG_VERSION = 0xa0;

/** String types Java decodes into text (AVA.isDerString, non-canonical); anything else is hex. */
const TEXT_TAGS: Record<number, 'utf8' | 'latin1' | 'utf16be'> = {
  0x0c: 'utf8', // UTF8String
  0x13: 'latin1', // PrintableString
  0x14: 'latin1', // T61String
  0x16: 'latin1', // IA5String
  0x1b: 'latin1', // GeneralString
  0x1e: 'utf16be', // BMPString
};

/** RFC 2253 keywords (sun.security.x509.AVAKeyword entries marked rfc2253Compliant). */
const KEYWORDS: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.9': 'STREET',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
};

interface Tlv {
  readonly tag: number;
  /** The whole element: tag, length and contents. */
  readonly start: number;
  readonly contentStart: number;
  readonly end: number;
}

function readTlv(der: Buffer, at: number, limit: number): Tlv {
  if (at + 2 > limit) throw new X500NameError('truncated element');
  const tag = der[at]!;
  if ((tag & 0x1f) === 0x1f) throw new X500NameError('multi-byte tags are not used in names');
  let length = der[at + 1]!;
  let contentStart = at + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4) throw new X500NameError('unsupported length encoding');
    if (contentStart + octets > limit) throw new X500NameError('truncated length');
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + der[contentStart + i]!;
    contentStart += octets;
  }
  const end = contentStart + length;
  if (end > limit) throw new X500NameError('element runs past its container');
  return { tag, start: at, contentStart, end };
}

function expect(der: Buffer, at: number, limit: number, tag: number, what: string): Tlv {
  const tlv = readTlv(der, at, limit);
  if (tlv.tag !== tag) throw new X500NameError(`expected ${what}`);
  return tlv;
}

/** The subject Name (its DER) of a DER certificate. */
export function subjectOfCertificate(certDer: Buffer): Buffer {
  const cert = expect(certDer, 0, certDer.length, TAG_SEQUENCE, 'Certificate');
  const tbs = expect(certDer, cert.contentStart, cert.end, TAG_SEQUENCE, 'TBSCertificate');
  let field = readTlv(certDer, tbs.contentStart, tbs.end);
  if (field.tag === TAG_VERSION) field = readTlv(certDer, field.end, tbs.end);
  if (field.tag !== TAG_INTEGER) throw new X500NameError('expected serialNumber');
  const signature = expect(certDer, field.end, tbs.end, TAG_SEQUENCE, 'signature');
  const issuer = expect(certDer, signature.end, tbs.end, TAG_SEQUENCE, 'issuer');
  const validity = expect(certDer, issuer.end, tbs.end, TAG_SEQUENCE, 'validity');
  const subject = expect(certDer, validity.end, tbs.end, TAG_SEQUENCE, 'subject');
  return certDer.subarray(subject.start, subject.end);
}

/** X500Principal.getName() (RFC 2253) of a DER Name. */
export function rfc2253Name(nameDer: Buffer): string {
  const name = expect(nameDer, 0, nameDer.length, TAG_SEQUENCE, 'Name');
  const rdns: string[] = [];
  for (let at = name.contentStart; at < name.end;) {
    const rdn = expect(nameDer, at, name.end, TAG_SET, 'RelativeDistinguishedName');
    const avas: string[] = [];
    for (let a = rdn.contentStart; a < rdn.end;) {
      const ava = expect(nameDer, a, rdn.end, TAG_SEQUENCE, 'AttributeTypeAndValue');
      const oid = expect(nameDer, ava.contentStart, ava.end, TAG_OID, 'attribute type');
      const value = readTlv(nameDer, oid.end, ava.end);
      avas.push(avaString(oidString(nameDer.subarray(oid.contentStart, oid.end)), nameDer, value));
      a = ava.end;
    }
    if (avas.length === 0) throw new X500NameError('empty RDN');
    rdns.push(avas.join('+'));
    at = rdn.end;
  }
  return rdns.reverse().join(',');
}

/** Shorthand: the RFC 2253 subject of a DER certificate. */
export function subjectRfc2253(certDer: Buffer): string {
  return rfc2253Name(subjectOfCertificate(certDer));
}

function oidString(content: Buffer): string {
  if (content.length === 0) throw new X500NameError('empty OID');
  const arcs: number[] = [];
  let value = 0;
  for (let i = 0; i < content.length; i++) {
    const b = content[i]!;
    value = value * 128 + (b & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw new X500NameError('OID arc too large');
    if ((b & 0x80) === 0) {
      if (arcs.length === 0) {
        const first = value < 40 ? 0 : value < 80 ? 1 : 2;
        arcs.push(first, value - first * 40);
      } else {
        arcs.push(value);
      }
      value = 0;
    } else if (i === content.length - 1) {
      throw new X500NameError('truncated OID');
    }
  }
  return arcs.join('.');
}

function avaString(oid: string, der: Buffer, value: Tlv): string {
  const keyword = KEYWORDS[oid] ?? oid;
  const decoding = TEXT_TAGS[value.tag];
  if (keyword === oid || decoding === undefined) return `${keyword}=#${der.subarray(value.start, value.end).toString('hex')}`;
  return `${keyword}=${escapeValue(decodeText(der.subarray(value.contentStart, value.end), decoding))}`;
}

function decodeText(bytes: Buffer, decoding: 'utf8' | 'latin1' | 'utf16be'): string {
  if (decoding !== 'utf16be') return bytes.toString(decoding);
  if (bytes.length % 2 !== 0) throw new X500NameError('odd-length BMPString');
  return Buffer.from(bytes).swap16().toString('utf16le');
}

const ESCAPED = new Set([',', '=', '+', '<', '>', '#', ';', '"', '\\']);

/** AVA.toRFC2253String's escaping, step for step. */
function escapeValue(text: string): string {
  let escaped = '';
  for (const c of text) {
    if (ESCAPED.has(c)) escaped += `\\${c}`;
    else if (c === '\u0000') escaped += '\\00';
    else escaped += c;
  }
  let lead = 0;
  while (lead < escaped.length && (escaped[lead] === ' ' || escaped[lead] === '\r')) lead++;
  let trail = escaped.length - 1;
  while (trail >= 0 && (escaped[trail] === ' ' || escaped[trail] === '\r')) trail--;
  let out = '';
  for (let i = 0; i < escaped.length; i++) out += (i < lead || i > trail ? '\\' : '') + escaped[i];
  return out;
}
