// The one import of @sinclair/typebox in lib/. Its ESM build is ~220 modules, which cost `up` most of its
// module loading at cold start; `npm run build:ts` bundles this file into one (scripts/bundle.ts).
export { Type, type Static, type TSchema } from '@sinclair/typebox';
export { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
