// Reads a table of frames and answers, for each, whether the generated zod unions and the
// generated JSON Schema accept it (tests/tests/export_ts.rs compares with wskit's decoder).
//
//   node check.mjs <compiled module.js> <schema.json> <frames.json> <patterns.json>
//
// frames.json: [{"dir": "client" | "server", "text": "<frame JSON>"}, ...]
// patterns.json: [{"source": "<RegExp source>", "input": "<string>"}, ...]
// stdout: {"frames": [{"zod": bool, "zodIssues": string, "ajv": bool, "ajvErrors": string}, ...],
//          "patterns": [bool, ...]}  (whether `new RegExp(source, "u")` matches the input)
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";

const [modulePath, schemaPath, framesPath, patternsPath] = process.argv.slice(2);
const protocol = await import(pathToFileURL(modulePath).href);
const schema = JSON.parse(readFileSync(schemaPath, "utf8"));
const frames = JSON.parse(readFileSync(framesPath, "utf8"));

// Strict: any keyword, type or format ajv does not understand is an error, not a warning.
const fail = (msg) => {
  throw new Error(`ajv: ${msg}`);
};
const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true, logger: { log: console.log, warn: fail, error: fail } });
// The export's annotation: each message's descriptor.
ajv.addKeyword("x-wskit");
if (!ajv.validateSchema(schema)) {
  throw new Error(`not a valid JSON Schema 2020-12: ${ajv.errorsText(ajv.errors)}`);
}
ajv.addSchema(schema);
const validators = {
  client: ajv.getSchema(`${schema.$id}#/$defs/ClientMessage`),
  server: ajv.getSchema(`${schema.$id}#/$defs/ServerMessage`),
};
const root = ajv.getSchema(schema.$id);
const unions = { client: protocol.ClientMessage, server: protocol.ServerMessage };

const results = frames.map(({ dir, text }) => {
  const value = JSON.parse(text);
  const z = unions[dir].safeParse(value);
  const validate = validators[dir];
  const ajvOk = validate(value);
  const ajvErrors = ajvOk ? "" : ajv.errorsText(validate.errors.filter((e) => e.keyword !== "const" && e.keyword !== "oneOf")).slice(0, 400);
  // The root schema takes any frame of either direction.
  if (ajvOk && !root(value)) throw new Error(`the root schema refuses ${text}`);
  return {
    zod: z.success,
    zodIssues: z.success ? "" : z.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "),
    ajv: ajvOk,
    ajvErrors,
  };
});
const patterns = JSON.parse(readFileSync(patternsPath, "utf8")).map(({ source, input }) =>
  new RegExp(source, "u").test(input),
);
process.stdout.write(JSON.stringify({ frames: results, patterns }));
