export declare function words<K extends string>(
  meanings: Record<K, string>,
  options?: { at?: number; stride?: number },
): Readonly<Record<K | 'END', number>>;
export declare function rows(base: number, stride: number): (i: number, k?: number) => number;
