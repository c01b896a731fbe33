// The depformer's products in MLX 4-bit (groups of 32, f16 scales), as Moshi 7B has them: 8
// positions, each its own weights: the input 1024x4096, 6 layers of {3072x1024, 1024x1024,
// 5632x1024, 1024x2816}, the head 2048x1024 (417 MB in all), through mk_matvec on a pool of THREADS.
//   cc -O3 -march=native -ISources/CKernels -ISources/CKernels/include \
//      scripts/kernel_harness/depformer_products.c Sources/CKernels/*.c -lm -lpthread -o /tmp/depformer
//   /tmp/depformer THREADS STEPS
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "mk_internal.h"
#include "mk_pool.h"
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static uint64_t s=88172645463325252ull; static uint64_t rnd(void){s^=s<<13;s^=s>>7;s^=s<<17;return s;}
static mk_matrix make(int64_t rows,int64_t cols){ mk_matrix w; memset(&w,0,sizeof w); w.rows=rows; w.cols=cols; w.format=MK_FORMAT_MLX4; w.group_size=32; w.scale_type=MK_SCALE_F16;
  int64_t b=rows*cols/2; uint8_t *q=aligned_alloc(64,(b+63)/64*64); for(int64_t i=0;i<b;i+=8)*(uint64_t*)(q+i)=rnd();
  int64_t g=rows*cols/32; uint16_t *sc=malloc(g*2),*bi=malloc(g*2); for(int64_t i=0;i<g;i++){ _Float16 a=(_Float16)0.01f, c=(_Float16)-0.08f; memcpy(sc+i,&a,2); memcpy(bi+i,&c,2);} w.data=q; w.scales=sc; w.biases=bi; return w;}
int main(int argc,char**argv){
  int threads=atoi(argv[1]); int steps=atoi(argv[2]);
  mk_pool *pool=mk_pool_create(threads);
  static mk_matrix m[8][26]; double bytes=0;
  for(int p=0;p<8;p++){ int k=0; m[p][k++]=make(1024,4096); for(int l=0;l<6;l++){ m[p][k++]=make(3072,1024); m[p][k++]=make(1024,1024); m[p][k++]=make(5632,1024); m[p][k++]=make(1024,2816);} m[p][k++]=make(2048,1024);
    for(int i=0;i<26;i++) bytes+=m[p][i].rows*(m[p][i].cols/2+m[p][i].cols/32*4); }
  float *x=aligned_alloc(64,4096*4*4), *y=aligned_alloc(64,8192*4); for(int i=0;i<4096*4;i++) x[i]=(float)((rnd()>>40)*(1.0/16777216.0)-0.5);
  float *scr=aligned_alloc(64,mk_scratch_floats(4096)*4+64);
  double best=1e9, tot=0;
  for(int st=0;st<steps;st++){ double t0=now();
    for(int p=0;p<8;p++) for(int i=0;i<26;i++) mk_matvec(pool,&m[p][i],x,y,scr,NULL);
    double dt=now()-t0; if(st>0){ tot+=dt; if(dt<best)best=dt; } }
  printf("threads %d: %.1f MB, best %.2f ms (%.1f GB/s), mean %.2f ms\n",threads,bytes/1e6,best*1e3,bytes/best/1e9,tot/(steps-1)*1e3);
}
