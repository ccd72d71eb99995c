// A ws-kit server on Bun built from the schemas wskit generated for a Rust protocol: the
// `Shop` protocol of tests/tests/interop_export.rs, exported by `wskit::export::typescript` to
// generated/shop.ts. Every schema handed to ws-kit's message()/rpc() is the generated one.
// Binds 127.0.0.1 on an ephemeral port and prints `listening on 127.0.0.1:<port>`.
//
//   interop/node_modules/@oven/bun-linux-x64/bin/bun interop/export_server.ts
import { createBunHandler } from "@ws-kit/bun";
import { createRouter, message, rpc, withZod } from "@ws-kit/zod";
import * as Shop from "./generated/shop";

// A descriptor's wire type, payload schema and declared meta are what @ws-kit/zod takes (zod 4 on
// both sides). A message declared without payload (payloadForm "none") is `message(D.type)`.
const AddItem = message(Shop.AddItem.type, Shop.AddItem.payload, Shop.AddItem.meta.shape);
const BasketChanged = message(Shop.BasketChanged.type, Shop.BasketChanged.payload, Shop.BasketChanged.meta.shape);
const GetBasket = rpc(
  Shop.GetBasket.type,
  Shop.GetBasket.payload,
  Shop.GetBasket.response.type,
  Shop.GetBasket.response.payload,
);

const baskets = new Map<string, Shop.Line[]>();
const basket = (clientId: string): Shop.Line[] => {
  let lines = baskets.get(clientId);
  if (!lines) baskets.set(clientId, (lines = []));
  return lines;
};

const router = createRouter()
  .plugin(withZod())
  .on(AddItem, (ctx) => {
    const lines = basket(ctx.clientId);
    lines.push({ sku: ctx.payload.sku, qty: ctx.payload.qty });
    const totalQty = lines.reduce((n, l) => n + l.qty, 0);
    ctx.send(BasketChanged, { lines, totalQty });
  })
  .rpc(GetBasket, (ctx) => {
    if (ctx.payload.owner !== "me") {
      ctx.error("NOT_FOUND", "no such basket", { owner: ctx.payload.owner });
      return;
    }
    ctx.reply({ owner: ctx.payload.owner, lines: basket(ctx.clientId) });
  });

const { fetch, websocket } = createBunHandler(router);
const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch, websocket });
console.log(`listening on 127.0.0.1:${server.port}`);
