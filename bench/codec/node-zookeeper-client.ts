/**
 * node-zookeeper-client's own Jute codec (lib/jute/index.js), called the way its client calls it: a
 * record class generated from lib/jute/specification.json, constructed with its field values, then
 * `byteLength()` + `Buffer.alloc` + `serialize(buffer, offset)` to encode, and `new Record()` +
 * `deserialize(buffer, offset)` to decode. Longs are 8-byte Buffers in its representation.
 */
import { createRequire } from "node:module";
import { type CodecImplementation, fixture, type PreparedCase } from "./cases.js";

interface NzcRecord {
  byteLength(): number;
  serialize(buffer: Buffer, offset: number): number;
  deserialize(buffer: Buffer, offset: number): number;
}
type RecordClass<T> = new (...fields: unknown[]) => NzcRecord & T;

interface NzcStat {
  version: number;
}

interface NzcJute {
  protocol: {
    GetDataRequest: RecordClass<{ path: string }>;
    GetDataResponse: RecordClass<{ data: Buffer; stat: NzcStat }>;
    CreateRequest: RecordClass<{ flags: number }>;
    GetChildren2Response: RecordClass<{ children: string[]; stat: NzcStat }>;
  };
  data: {
    Stat: RecordClass<NzcStat>;
    ACL: RecordClass<object>;
    Id: RecordClass<object>;
  };
}

const require = createRequire(import.meta.url);
const jute = require("node-zookeeper-client/lib/jute/index.js") as NzcJute;
const { GetDataRequest, GetDataResponse, CreateRequest, GetChildren2Response } = jute.protocol;

function long(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(v);
  return b;
}

const s = fixture.stat;
const stat = new jute.data.Stat(
  long(s.czxid),
  long(s.mzxid),
  long(s.ctime),
  long(s.mtime),
  s.version,
  s.cversion,
  s.aversion,
  long(s.ephemeralOwner),
  s.dataLength,
  s.numChildren,
  long(s.pzxid),
);
const acl = [new jute.data.ACL(fixture.acl.perms, new jute.data.Id(fixture.acl.scheme, fixture.acl.id))];
const getDataResponse = new GetDataResponse(fixture.data, stat);
const children2 = new GetChildren2Response([...fixture.children], stat);

/** Its client's way to a buffer: exact size, zero-filled, then serialize. */
function toBytes(record: NzcRecord): Buffer {
  const out = Buffer.alloc(record.byteLength());
  record.serialize(out, 0);
  return out;
}

const hex = (b: Buffer) => b.toString("hex");

export const nzcCodec: CodecImplementation = {
  "get-data-request": {
    encode: (): PreparedCase => ({
      run(n) {
        let sink = 0;
        for (let i = 0; i < n; i++) {
          const out = toBytes(new GetDataRequest(fixture.path, false));
          sink += out[out.length - 1]!;
        }
        return sink;
      },
      check: () => hex(toBytes(new GetDataRequest(fixture.path, false))),
    }),
    decode: (): PreparedCase => {
      const bytes = toBytes(new GetDataRequest(fixture.path, false));
      const read = () => {
        const r = new GetDataRequest();
        r.deserialize(bytes, 0);
        return r;
      };
      return {
        run(n) {
          let sink = 0;
          for (let i = 0; i < n; i++) {
            const r = new GetDataRequest();
            r.deserialize(bytes, 0);
            sink += r.path.length;
          }
          return sink;
        },
        check: () => hex(toBytes(read())),
      };
    },
  },
  "get-data-response": {
    encode: (): PreparedCase => ({
      run(n) {
        let sink = 0;
        for (let i = 0; i < n; i++) {
          const out = toBytes(getDataResponse);
          sink += out[out.length - 1]!;
        }
        return sink;
      },
      check: () => hex(toBytes(getDataResponse)),
    }),
    decode: (): PreparedCase => {
      const bytes = toBytes(getDataResponse);
      const read = () => {
        const r = new GetDataResponse();
        r.deserialize(bytes, 0);
        return r;
      };
      return {
        run(n) {
          let sink = 0;
          for (let i = 0; i < n; i++) {
            const r = new GetDataResponse();
            r.deserialize(bytes, 0);
            sink += r.data.length + r.stat.version;
          }
          return sink;
        },
        check: () => hex(toBytes(read())),
      };
    },
  },
  "create-request": {
    encode: (): PreparedCase => ({
      run(n) {
        let sink = 0;
        for (let i = 0; i < n; i++) {
          const out = toBytes(new CreateRequest(fixture.createPath, fixture.data, acl, fixture.createFlags));
          sink += out[out.length - 1]!;
        }
        return sink;
      },
      check: () =>
        hex(toBytes(new CreateRequest(fixture.createPath, fixture.data, acl, fixture.createFlags))),
    }),
    decode: (): PreparedCase => {
      const bytes = toBytes(new CreateRequest(fixture.createPath, fixture.data, acl, fixture.createFlags));
      const read = () => {
        const r = new CreateRequest();
        r.deserialize(bytes, 0);
        return r;
      };
      return {
        run(n) {
          let sink = 0;
          for (let i = 0; i < n; i++) {
            const r = new CreateRequest();
            r.deserialize(bytes, 0);
            sink += r.flags;
          }
          return sink;
        },
        check: () => hex(toBytes(read())),
      };
    },
  },
  stat: {
    encode: (): PreparedCase => ({
      run(n) {
        let sink = 0;
        for (let i = 0; i < n; i++) {
          const out = toBytes(stat);
          sink += out[out.length - 1]!;
        }
        return sink;
      },
      check: () => hex(toBytes(stat)),
    }),
    decode: (): PreparedCase => {
      const bytes = toBytes(stat);
      const read = () => {
        const r = new jute.data.Stat();
        r.deserialize(bytes, 0);
        return r;
      };
      return {
        run(n) {
          let sink = 0;
          for (let i = 0; i < n; i++) {
            const r = new jute.data.Stat();
            r.deserialize(bytes, 0);
            sink += r.version;
          }
          return sink;
        },
        check: () => hex(toBytes(read())),
      };
    },
  },
  "get-children2-response-1000": {
    encode: (): PreparedCase => ({
      run(n) {
        let sink = 0;
        for (let i = 0; i < n; i++) {
          const out = toBytes(children2);
          sink += out[out.length - 1]!;
        }
        return sink;
      },
      check: () => hex(toBytes(children2)),
    }),
    decode: (): PreparedCase => {
      const bytes = toBytes(children2);
      const read = () => {
        const r = new GetChildren2Response();
        r.deserialize(bytes, 0);
        return r;
      };
      return {
        run(n) {
          let sink = 0;
          for (let i = 0; i < n; i++) {
            const r = new GetChildren2Response();
            r.deserialize(bytes, 0);
            sink += r.children.length;
          }
          return sink;
        },
        check: () => hex(toBytes(read())),
      };
    },
  },
};
