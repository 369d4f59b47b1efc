// A load generator for bench/security-bench.ts (run as its own process, so its CPU is not the
// measuring client's): --connections loops that each connect to a SASL listener and log in with
// SASL/PLAIN and a wrong password for a SCRAM user, for --seconds. Prints {"refused", "other"}.
import { KafkaConnection } from '../src/admin/kafka-connection.js';

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const v = argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  if (v === undefined) throw new Error(`--${name}= is required`);
  return v;
};
const address = opt('address');
const user = opt('user');
const seconds = Number(opt('seconds'));
const connections = Number(opt('connections'));

const end = Date.now() + seconds * 1000;
let refused = 0;
let other = 0;
let firstOther: string | null = null;
await Promise.all(Array.from({ length: connections }, async () => {
  while (Date.now() < end) {
    try {
      const conn = await KafkaConnection.connect(address, {
        clientId: 'auth-flood', connectTimeoutMs: 10_000, requestTimeoutMs: 10_000,
        security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'PLAIN', username: user, password: 'not-the-password' } },
      });
      conn.close();
      other++;
      firstOther ??= 'a wrong password was accepted';
    } catch (err) {
      if (/auth|SASL/i.test((err as Error).message)) refused++;
      else { other++; firstOther ??= (err as Error).message; }
    }
  }
}));
console.log(JSON.stringify({ refused, other, firstOther }));
