// The package's public API as the TypeScript checker sees it: every export of every entry point in
// package.json "exports" (name and kind), which exported functions and classes lack an @example, and
// which public declarations name a declaration of ours that no entry point exports. Used by
// test/unit/public-api.test.ts and by `npm run api:report` (scripts/api-report.ts), which rewrites
// api/public-api.md.
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { REPO_ROOT } from "./child-process.js";

export const REPORT_PATH = join(REPO_ROOT, "api/public-api.md");

export interface PublicExport {
  entry: string;
  name: string;
  kind: string;
}

export interface PublicApi {
  exports: PublicExport[];
  /** `entry: name`: an exported function or class whose JSDoc has no @example. */
  missingExamples: string[];
  /** `entry: name → Referenced (file)`: a public declaration's signature names an unexported declaration. */
  unexportedReferences: string[];
}

/** The entry points: package.json "exports", each with its source file (the tessera-source condition). */
export function entryPoints(): { entry: string; file: string }[] {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { exports: Record<string, Record<string, string>> };
  const entries: { entry: string; file: string }[] = [];
  for (const [subpath, conditions] of Object.entries(pkg.exports)) {
    const source = conditions["tessera-source"];
    if (source === undefined) continue;
    const entry = subpath === "." ? "tessera" : `tessera/${subpath.slice(2)}`;
    if (!subpath.includes("*")) {
      entries.push({ entry, file: join(REPO_ROOT, source) });
      continue;
    }
    // A pattern export (the generated tessera.v1 code): one entry per file it matches.
    const [prefix, suffix] = source.split("*") as [string, string];
    const dir = join(REPO_ROOT, prefix);
    for (const file of ts.sys.readDirectory(dir, [suffix], undefined, undefined, 1).sort()) {
      const stem = file.slice(dir.length, -suffix.length);
      entries.push({ entry: entry.replace("*", stem), file });
    }
  }
  return entries;
}

function kindOf(symbol: ts.Symbol): string {
  const flags = symbol.flags;
  if (flags & ts.SymbolFlags.Class) return "class";
  if (flags & ts.SymbolFlags.Function) return "function";
  if (flags & ts.SymbolFlags.Enum) return "enum";
  if (flags & ts.SymbolFlags.Interface) return "interface";
  if (flags & ts.SymbolFlags.TypeAlias) return "type";
  if (flags & ts.SymbolFlags.Variable) {
    const decl = symbol.declarations?.[0];
    const constant = decl !== undefined && ts.isVariableDeclaration(decl) && (ts.getCombinedNodeFlags(decl) & ts.NodeFlags.Const) !== 0;
    return constant ? "const" : "let";
  }
  if (flags & ts.SymbolFlags.Module) return "namespace";
  return "other";
}

function hasExample(symbol: ts.Symbol): boolean {
  return (symbol.declarations ?? []).some((decl) => ts.getJSDocTags(decl).some((tag) => tag.tagName.text === "example"));
}

const isOurs = (file: string): boolean => !file.includes("/node_modules/") && file.startsWith(REPO_ROOT);

/** The parts of a declaration a user sees: signatures, members, heritage; never bodies or private members. */
function publicTypeNodes(decl: ts.Declaration): ts.Node[] {
  const nodes: ts.Node[] = [];
  const signature = (node: ts.SignatureDeclarationBase) => {
    for (const p of node.parameters) if (p.type) nodes.push(p.type);
    if (node.type) nodes.push(node.type);
    for (const t of node.typeParameters ?? []) {
      if (t.constraint) nodes.push(t.constraint);
      if (t.default) nodes.push(t.default);
    }
  };
  const isHidden = (member: ts.Node) =>
    (ts.getCombinedModifierFlags(member as ts.Declaration) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) !== 0 ||
    ((member as ts.NamedDeclaration).name !== undefined && ts.isPrivateIdentifier((member as ts.NamedDeclaration).name!));
  if (ts.isFunctionDeclaration(decl)) signature(decl);
  else if (ts.isTypeAliasDeclaration(decl)) nodes.push(decl.type);
  else if (ts.isVariableDeclaration(decl) && decl.type) nodes.push(decl.type);
  else if (ts.isInterfaceDeclaration(decl) || ts.isClassDeclaration(decl)) {
    for (const clause of decl.heritageClauses ?? []) nodes.push(...clause.types);
    for (const member of decl.members as ts.NodeArray<ts.ClassElement | ts.TypeElement>) {
      if (isHidden(member)) continue;
      if (ts.isConstructorDeclaration(member)) {
        signature(member);
        for (const p of member.parameters) if (p.type && !isHidden(p)) nodes.push(p.type);
      } else if (
        ts.isMethodDeclaration(member) ||
        ts.isMethodSignature(member) ||
        ts.isCallSignatureDeclaration(member) ||
        ts.isConstructSignatureDeclaration(member) ||
        ts.isIndexSignatureDeclaration(member) ||
        ts.isGetAccessorDeclaration(member) ||
        ts.isSetAccessorDeclaration(member)
      ) {
        signature(member);
      } else if ((ts.isPropertyDeclaration(member) || ts.isPropertySignature(member)) && member.type) {
        nodes.push(member.type);
      }
    }
  }
  return nodes;
}

/** Reads the public API of the entry points from the sources (a full type-check program over them). */
export function readPublicApi(): PublicApi {
  const entries = entryPoints();
  const config = ts.getParsedCommandLineOfConfigFile(join(REPO_ROOT, "tsconfig.json"), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!;
  const program = ts.createProgram(
    entries.map((e) => e.file),
    { ...config.options, noEmit: true },
  );
  const checker = program.getTypeChecker();

  const resolve = (symbol: ts.Symbol) => (symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol);
  const exports: PublicExport[] = [];
  const perEntry: { entry: string; generated: boolean; symbols: ts.Symbol[] }[] = [];
  const publicDeclarations = new Set<ts.Declaration>();
  for (const { entry, file } of entries) {
    const source = program.getSourceFile(file);
    if (source === undefined) throw new Error(`entry ${entry}: ${file} is not in the program`);
    const moduleSymbol = checker.getSymbolAtLocation(source)!;
    const symbols: ts.Symbol[] = [];
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const target = resolve(exported);
      symbols.push(target);
      for (const decl of target.declarations ?? []) publicDeclarations.add(decl);
      exports.push({ entry, name: exported.name, kind: kindOf(target) });
    }
    perEntry.push({ entry, generated: file.includes("/gen/"), symbols });
  }

  const missingExamples: string[] = [];
  const unexportedReferences = new Set<string>();
  for (const { entry, generated, symbols } of perEntry) {
    if (generated) continue; // protoc-gen-es output: documented by the proto, checked by buf lint
    for (const symbol of symbols) {
      if (symbol.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Class) && !hasExample(symbol)) missingExamples.push(`${entry}: ${symbol.name}`);
      for (const decl of symbol.declarations ?? []) {
        const visit = (node: ts.Node): void => {
          if (ts.isTypeReferenceNode(node) || ts.isExpressionWithTypeArguments(node) || ts.isTypeQueryNode(node)) {
            const name = ts.isTypeReferenceNode(node) ? node.typeName : ts.isTypeQueryNode(node) ? node.exprName : node.expression;
            const referenced = checker.getSymbolAtLocation(name);
            const target = referenced && resolve(referenced);
            for (const d of target?.declarations ?? []) {
              if (ts.isTypeParameterDeclaration(d) || !isOurs(d.getSourceFile().fileName) || publicDeclarations.has(d)) continue;
              unexportedReferences.add(`${entry}: ${symbol.name} → ${target!.name} (${relative(REPO_ROOT, d.getSourceFile().fileName)})`);
            }
          }
          ts.forEachChild(node, visit);
        };
        for (const node of publicTypeNodes(decl)) visit(node);
      }
    }
  }
  exports.sort((a, b) => (a.entry === b.entry ? a.name.localeCompare(b.name) : 0));
  return { exports, missingExamples, unexportedReferences: [...unexportedReferences].sort() };
}

/** The committed report: one section per entry point, one line per export. */
export function renderReport(api: PublicApi): string {
  const lines = [
    "# Public API of the tessera package",
    "",
    'Generated by `npm run api:report` from the entry points in package.json "exports"; checked by',
    "test/unit/public-api.test.ts. A change here is a change of what users can import: review it as such.",
  ];
  let entry = "";
  for (const e of api.exports) {
    if (e.entry !== entry) {
      entry = e.entry;
      lines.push("", `## ${entry}`, "");
    }
    lines.push(`- ${e.kind} \`${e.name}\``);
  }
  return `${lines.join("\n")}\n`;
}
