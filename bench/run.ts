// Benchmarks land with the engine.
export {};
