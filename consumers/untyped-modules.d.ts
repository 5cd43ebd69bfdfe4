// Local stand-ins that ship without type definitions.
declare module 'kinesalite' {
  const kinesalite: (options?: Record<string, unknown>) => unknown;
  export default kinesalite;
}
declare module 'dynalite' {
  const dynalite: (options?: Record<string, unknown>) => unknown;
  export default dynalite;
}
