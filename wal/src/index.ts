export const WAL_PLACEHOLDER = 1;
