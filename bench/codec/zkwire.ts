/**
 * zkwire's codec (src/protocol) for the codec cases. Every loop is written out per case rather than
 * shared: a shared loop calling a different function per case would make that call site megamorphic
 * and put an unlikely-to-inline call in every iteration of every codec.
 */
import {
  type ACL,
  CreateRequest,
  decode,
  encode,
  GetChildren2Response,
  GetDataRequest,
  GetDataResponse,
  Stat,
} from "../../src/protocol/index.js";
import { type CodecImplementation, fixture, type PreparedCase } from "./cases.js";

const acl: ACL[] = [{ perms: fixture.acl.perms, id: { scheme: fixture.acl.scheme, id: fixture.acl.id } }];
const stat: Stat = { ...fixture.stat };
const getDataResponse: GetDataResponse = { data: fixture.data, stat };
const children2: GetChildren2Response = { children: [...fixture.children], stat };
const createRequest = (): CreateRequest => ({
  path: fixture.createPath,
  data: fixture.data,
  acl,
  flags: fixture.createFlags,
});

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

export const zkwireCodec: CodecImplementation = {
  "get-data-request": {
    encode: (): PreparedCase => ({
      run(n) {
        let sink = 0;
        for (let i = 0; i < n; i++) {
          const out = encode(GetDataRequest, { path: fixture.path, watch: false });
          sink += out[out.length - 1]!;
        }
        return sink;
      },
      check: () => hex(encode(GetDataRequest, { path: fixture.path, watch: false })),
    }),
    decode: (): PreparedCase => {
      const bytes = encode(GetDataRequest, { path: fixture.path, watch: false });
      return {
        run(n) {
          let sink = 0;
          for (let i = 0; i < n; i++) sink += decode(GetDataRequest, bytes).path!.length;
          return sink;
        },
        check: () => hex(encode(GetDataRequest, decode(GetDataRequest, bytes))),
      };
    },
  },
  "get-data-response": {
    encode: (): PreparedCase => ({
      run(n) {
        let sink = 0;
        for (let i = 0; i < n; i++) {
          const out = encode(GetDataResponse, getDataResponse);
          sink += out[out.length - 1]!;
        }
        return sink;
      },
      check: () => hex(encode(GetDataResponse, getDataResponse)),
    }),
    decode: (): PreparedCase => {
      const bytes = encode(GetDataResponse, getDataResponse);
      return {
        run(n) {
          let sink = 0;
          for (let i = 0; i < n; i++) {
            const r = decode(GetDataResponse, bytes);
            sink += r.data!.length + r.stat.version;
          }
          return sink;
        },
        check: () => hex(encode(GetDataResponse, decode(GetDataResponse, bytes))),
      };
    },
  },
  "create-request": {
    encode: (): PreparedCase => ({
      run(n) {
        let sink = 0;
        for (let i = 0; i < n; i++) {
          const out = encode(CreateRequest, createRequest());
          sink += out[out.length - 1]!;
        }
        return sink;
      },
      check: () => hex(encode(CreateRequest, createRequest())),
    }),
    decode: (): PreparedCase => {
      const bytes = encode(CreateRequest, createRequest());
      return {
        run(n) {
          let sink = 0;
          for (let i = 0; i < n; i++) sink += decode(CreateRequest, bytes).flags;
          return sink;
        },
        check: () => hex(encode(CreateRequest, decode(CreateRequest, bytes))),
      };
    },
  },
  stat: {
    encode: (): PreparedCase => ({
      run(n) {
        let sink = 0;
        for (let i = 0; i < n; i++) {
          const out = encode(Stat, stat);
          sink += out[out.length - 1]!;
        }
        return sink;
      },
      check: () => hex(encode(Stat, stat)),
    }),
    decode: (): PreparedCase => {
      const bytes = encode(Stat, stat);
      return {
        run(n) {
          let sink = 0;
          for (let i = 0; i < n; i++) sink += decode(Stat, bytes).version;
          return sink;
        },
        check: () => hex(encode(Stat, decode(Stat, bytes))),
      };
    },
  },
  "get-children2-response-1000": {
    encode: (): PreparedCase => ({
      run(n) {
        let sink = 0;
        for (let i = 0; i < n; i++) {
          const out = encode(GetChildren2Response, children2);
          sink += out[out.length - 1]!;
        }
        return sink;
      },
      check: () => hex(encode(GetChildren2Response, children2)),
    }),
    decode: (): PreparedCase => {
      const bytes = encode(GetChildren2Response, children2);
      return {
        run(n) {
          let sink = 0;
          for (let i = 0; i < n; i++) sink += decode(GetChildren2Response, bytes).children!.length;
          return sink;
        },
        check: () => hex(encode(GetChildren2Response, decode(GetChildren2Response, bytes))),
      };
    },
  },
};
