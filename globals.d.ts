// Module declarations for assets that esbuild inlines: WGSL source as text, compiled wasm as bytes.
declare module '*.wgsl' {
  const source: string;
  export default source;
}
declare module '*.wasm' {
  const bytes: Uint8Array;
  export default bytes;
}
