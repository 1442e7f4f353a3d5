/**
 * The suite contract, under its historical name: everything is defined in contract.ts (schema 2), re-exported here
 * so that modules written against `./lib/types.js` keep compiling.
 */
export * from './contract.js';
