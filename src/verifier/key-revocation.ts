// Kept where the verifier's callers found it; the encoding lives beside the store's other revocation kinds.
export { keyRevocationJti } from "../store/revocation-kinds.js";
