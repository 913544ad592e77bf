// typage (npm `age-encryption`), the TypeScript age implementation, as a command for
// tests/envelope_pq.rs: an independent implementation of the post-quantum hybrid recipients.
//   node typage.mjs keygen                       -> identity line, then recipient line
//   node typage.mjs recipient IDENTITY_FILE      -> the recipient of the identity's first line
//   node typage.mjs encrypt RECIPIENT IN OUT     -> OUT: IN encrypted to RECIPIENT (age1…)
//   node typage.mjs decrypt IDENTITY_FILE IN OUT -> OUT: IN decrypted
// The package is found in $TYPAGE_DIR/node_modules (scripts/fetch-typage).
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"

const dir = process.env.TYPAGE_DIR
const age = await import(pathToFileURL(join(dir, "node_modules/age-encryption/dist/index.js")).href)
const identityIn = (file) =>
  readFileSync(file, "utf8").split("\n").map((l) => l.trim()).find((l) => l.startsWith("AGE-SECRET-KEY-"))

const [cmd, ...args] = process.argv.slice(2)
if (cmd === "keygen") {
  const identity = await age.generateHybridIdentity()
  console.log(identity)
  console.log(await age.identityToRecipient(identity))
} else if (cmd === "recipient") {
  console.log(await age.identityToRecipient(identityIn(args[0])))
} else if (cmd === "encrypt") {
  const e = new age.Encrypter()
  for (const r of args[0].split(",")) e.addRecipient(r)
  writeFileSync(args[2], await e.encrypt(readFileSync(args[1])))
} else if (cmd === "decrypt") {
  const d = new age.Decrypter()
  d.addIdentity(identityIn(args[0]))
  writeFileSync(args[2], await d.decrypt(readFileSync(args[1])))
} else {
  throw new Error(`unknown command ${cmd}`)
}
