import "./_cmd_copy/esm.mjs";
