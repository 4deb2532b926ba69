"""Realistic demo data: units, contacts with phone numbers, and months of hotline calls.

Sample data for trying the app and for benchmarks. It is written straight through the DB-API
(``executemany`` in batches of ``BATCH_ROWS`` rows, one transaction each) instead of through the ORM,
so a million calls take minutes, not hours. Every row still carries the columns a saved row has: a
UUIDv7 id, ``origin`` = this desktop's node id, an HLC stamp, ``deleted`` = 0, revision 1; every call
gets the time-ordered ``key`` that ``app.services.calls`` would allocate and the same full-text row.

Demo data is local only: it writes **no outbox entries**, so it is never pushed to the sync server.
Use it in a separate data folder (``--data-dir``), not in the one with real calls.

The same seed gives the same units, people, numbers and call texts; the dates follow today's date.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import string
import time
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.context import AppContext
from app.ids import uuid7
from app.phone import parse_phone
from app.search.text import MAX_INDEX_PART_CHARS, index_text
from app.services import calls as calls_service
from app.services.reference import list_categories, list_modules, list_sites, list_systems
from app.storage.models import CALL_KEY_SLOTS, Call, OrgKind, Outcome, Site, call_key_floor

log = logging.getLogger("hotline.demo")

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
BATCH_ROWS = 25_000
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

ProgressCallback = Callable[[int, int], None]


def _words(text: str) -> tuple[str, ...]:
    """Space-separated names, for tables that would be long as literals."""
    return tuple(text.split())


@dataclass(frozen=True, slots=True)
class DemoSummary:
    organisations: int
    contacts: int
    phones: int
    calls: int
    seconds: float


# --- the world the calls come from ----------------------------------------------------------------

SITE_SHARE = {"changzhou": 0.6, "zhanjiang": 0.4}

BUREAU_DEPARTMENTS = (
    "国库科",
    "综合科",
    "预算科",
    "票据管理科",
    "信息中心",
    "会计科",
    "行政政法科",
    "教科文科",
    "社会保障科",
    "经济建设科",
    "农业农村科",
    "绩效管理科",
    "政府采购监督管理科",
    "非税收入管理科",
)

NAMED_UNITS: dict[str, tuple[tuple[OrgKind, tuple[str, ...]], ...]] = {
    "changzhou": (
        (
            OrgKind.BUDGET_UNIT,
            (
                "常州市教育局",
                "常州市卫生健康委员会",
                "常州市公安局",
                "常州市人力资源和社会保障局",
                "常州市民政局",
                "常州市住房和城乡建设局",
                "常州市交通运输局",
                "常州市农业农村局",
                "常州市自然资源和规划局",
                "常州市生态环境局",
                "常州市文化广电和旅游局",
                "常州市市场监督管理局",
                "常州市医疗保障局",
                "常州市审计局",
                "常州市统计局",
                "常州市司法局",
                "常州市水利局",
                "常州市应急管理局",
                "常州市机关事务管理局",
                "武进区财政局",
                "新北区财政局",
                "天宁区财政局",
                "钟楼区财政局",
                "金坛区财政局",
                "溧阳市财政局",
                "常州经开区财政局",
            ),
        ),
        (
            OrgKind.BILL_UNIT,
            (
                "常州市第一人民医院",
                "常州市第二人民医院",
                "常州市中医医院",
                "常州市妇幼保健院",
                "常州市儿童医院",
                "常州大学",
                "江苏理工学院",
                "常州工学院",
                "常州市第一中学",
                "常州高级中学",
                "常州市北郊高级中学",
                "常州市实验小学",
                "常州市局前街小学",
                "常州市不动产登记中心",
                "常州市住房公积金管理中心",
                "常州市公安局交通警察支队车辆管理所",
                "常州市公共资源交易中心",
                "常州市疾病预防控制中心",
            ),
        ),
        (OrgKind.BUREAU_DEPT, BUREAU_DEPARTMENTS),
    ),
    "zhanjiang": (
        (
            OrgKind.BUDGET_UNIT,
            (
                "湛江市教育局",
                "湛江市卫生健康局",
                "湛江市公安局",
                "湛江市人力资源和社会保障局",
                "湛江市民政局",
                "湛江市住房和城乡建设局",
                "湛江市交通运输局",
                "湛江市农业农村局",
                "湛江市自然资源局",
                "湛江市文化广电旅游体育局",
                "湛江市市场监督管理局",
                "湛江市医疗保障局",
                "湛江市审计局",
                "赤坎区财政局",
                "霞山区财政局",
                "坡头区财政局",
                "麻章区财政局",
                "遂溪县财政局",
                "徐闻县财政局",
                "廉江市财政局",
                "雷州市财政局",
                "吴川市财政局",
                "湛江经开区财政局",
            ),
        ),
        (
            OrgKind.BILL_UNIT,
            (
                "湛江中心人民医院",
                "广东医科大学附属医院",
                "湛江市第一中医医院",
                "湛江市第二人民医院",
                "湛江市妇幼保健院",
                "岭南师范学院",
                "广东海洋大学",
                "湛江科技学院",
                "湛江市第一中学",
                "湛江市第二中学",
                "湛江市第二十一中学",
                "湛江市实验小学",
                "湛江市不动产登记中心",
                "湛江市住房公积金管理中心",
                "湛江市公共资源交易中心",
            ),
        ),
        (OrgKind.BUREAU_DEPT, BUREAU_DEPARTMENTS),
    ),
}

CITY = {"changzhou": "常州", "zhanjiang": "湛江"}
DISTRICTS = {
    "changzhou": ("天宁区", "钟楼区", "新北区", "武进区", "金坛区", "溧阳市"),
    "zhanjiang": ("赤坎区", "霞山区", "坡头区", "麻章区", "遂溪县", "徐闻县", "廉江市", "雷州市", "吴川市"),
}
TOWNS = {
    "changzhou": _words(
        "湖塘镇 牛塘镇 洛阳镇 遥观镇 横林镇 横山桥镇 雪堰镇 前黄镇 礼嘉镇 嘉泽镇 湟里镇 奔牛镇 郑陆镇 "
        "罗溪镇 孟河镇 薛家镇 西夏墅镇 春江街道 茶山街道 青龙街道 南大街街道 西林街道 邹区镇 金城镇 "
        "儒林镇 直溪镇 朱林镇 薛埠镇 指前镇 溧城街道 天目湖镇 社渚镇 上兴镇 竹箦镇"
    ),
    "zhanjiang": _words(
        "南三镇 乾塘镇 龙头镇 官渡镇 湖光镇 太平镇 东简街道 硇洲镇 民安镇 遂城镇 黄略镇 洋青镇 城月镇 "
        "草潭镇 徐城街道 下桥镇 海安镇 曲界镇 安铺镇 石城镇 横山镇 良垌镇 雷城街道 客路镇 英利镇 "
        "企水镇 梅菉街道 黄坡镇 塘缀镇 长岐镇"
    ),
}
DISTRICT_UNITS: tuple[tuple[OrgKind, str], ...] = tuple(
    [
        (OrgKind.BUDGET_UNIT, "{d}" + name)
        for name in _words(
            "教育局 卫生健康局 人力资源和社会保障局 民政局 自然资源局 住房和城乡建设局 农业农村局 "
            "市场监督管理局 司法局 交通运输局 水利局 审计局 统计局 退役军人事务局 医疗保障局 "
            "文化体育和旅游局 应急管理局 机关事务管理中心"
        )
    ]
    + [
        (OrgKind.BILL_UNIT, "{d}" + name)
        for name in _words(
            "人民医院 中医医院 妇幼保健院 疾病预防控制中心 不动产登记中心 实验小学 实验初级中学 "
            "高级中学 职业教育中心 公共资源交易中心"
        )
    ]
)
TOWN_UNITS: tuple[tuple[OrgKind, str], ...] = (
    (OrgKind.BUDGET_UNIT, "{t}人民政府"),
    (OrgKind.BUDGET_UNIT, "{t}财政所"),
    (OrgKind.BILL_UNIT, "{t}卫生院"),
    (OrgKind.BILL_UNIT, "{t}中心小学"),
    (OrgKind.BILL_UNIT, "{t}初级中学"),
)

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔"
)
GIVEN_CHARS = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红玲芬燕鹏辉建国志文斌宇浩凯健俊帆旭宁婷雪琳晶莉"
    "慧佳欣怡雅倩颖丹蕾洁梅兰凤春海波峰林亮成晨阳东升新宏家庆福荣思梓子涵睿博嘉诗雨晓云瑞卫红兵小"
)
TITLES: dict[OrgKind, tuple[str, ...]] = {
    OrgKind.BUDGET_UNIT: ("会计", "出纳", "财务科长", "财务科科员", "办公室主任", "计财处处长", "工资专管员"),
    OrgKind.BILL_UNIT: ("收费员", "票据管理员", "财务科长", "会计", "出纳", "收费处主任", "信息科工程师"),
    OrgKind.BUREAU_DEPT: ("科长", "副科长", "科员", "系统管理员", "主任科员"),
    OrgKind.OTHER: ("工作人员",),
}
MOBILE_PREFIXES = _words(
    "139 138 137 136 135 189 188 187 186 182 181 180 177 158 159 150 151 152 153 133 131 130 199"
)
ENGINEERS = {"changzhou": ("张工", "李工", "王工", "陈工"), "zhanjiang": ("刘工", "黄工", "周工", "梁工")}
TRANSFER_TARGETS = {
    "changzhou": ("二线支持 赵工", "厂商技术支持 陈工", "国库科 王科长", "信息中心 周工", "开发组 吴工"),
    "zhanjiang": ("票据管理科 林科长", "厂商技术支持 何工", "信息中心 梁工", "二线支持 邓工"),
}

# --- what people call about -----------------------------------------------------------------------
# (site code or "" for any, system or "" for any, module or "" for any/none, category, weight,
#  question variants, answer variants). Placeholders are filled by _FILLERS.

Topic = tuple[str, str, str, str, int, tuple[str, ...], tuple[str, ...]]

PAY = "智慧云财平台/统一公共支付平台"
EBILL = "财政电子票据"
SALARY = "工资统发系统"
GFMIS = "财政一体化信息管理系统"
BILLS = "财政票据管理系统"

# fmt: off
TOPICS: tuple[Topic, ...] = (
    # 智慧云财平台/统一公共支付平台
    ("changzhou", PAY, "缴费管理", "咨询", 5,
     ("缴款人已缴费但单位端查不到缴款记录，缴款码{no}", "缴费成功但状态一直显示待支付"),
     ("第三方支付回调延迟，已在缴费管理中手动同步状态，刷新后显示已缴费。",
      "核实支付渠道已扣款，T+1自动对账后状态会更新，请次日再查。")),
    ("changzhou", PAY, "缴费管理", "咨询", 3,
     ("如何生成非税收入缴款码", "开单后缴款码怎么发给缴款人"),
     ("在缴费管理-开单中录入执收项目和金额，保存后生成缴款码，可打印或短信发送。",)),
    ("changzhou", PAY, "支付渠道", "故障报修", 3,
     ("扫码支付提示“订单已过期”", "支付宝扫码后提示订单已失效"),
     ("缴款码有效期为{n}天，已过期需重新开单生成新码。",)),
    ("changzhou", PAY, "支付渠道", "故障报修", 2,
     ("银联渠道支付失败，提示错误码{err}",),
     ("渠道侧临时故障，已联系银联，建议缴款人改用微信或支付宝缴费。",)),
    ("changzhou", PAY, "对账管理", "咨询", 3,
     ("{month}月对账单与银行流水相差{amount}元", "对账结果显示单边账{n}笔"),
     ("存在跨日交易，{month}月最后一天晚间交易计入次月，调整对账区间后一致。",
      "单边账为银行已到账系统未确认，已发起补对账，处理后平账。")),
    ("changzhou", PAY, "对账管理", "故障报修", 2,
     ("对账文件下载失败，提示文件不存在",),
     ("银行对账文件次日10点后生成，已告知稍后重新下载。",)),
    ("changzhou", PAY, "单位管理", "咨询", 2,
     ("新增执收项目后单位端看不到", "单位名称变更后缴款码上还是旧名称"),
     ("项目需财政端审核启用并分配给单位，已协助在单位管理中分配。",
      "单位信息变更需在单位管理中提交变更并审核，审核通过后新开缴款码显示新名称。")),
    ("changzhou", PAY, "统计查询", "咨询", 2,
     ("按执收项目统计的收入报表如何导出Excel",),
     ("在统计查询中选择执收项目汇总表，点查询后导出，选择Excel格式。",)),
    # 财政电子票据
    ("changzhou", EBILL, "票据开具", "故障报修", 5,
     ("开具电子票据时提示“票据号段不足”", "开票提示可用票号为0"),
     ("票据领用的号段已用完，需先在票据领用中申领新号段，审核通过后即可开具。",)),
    ("changzhou", EBILL, "票据开具", "故障报修", 4,
     ("开票时提示签章失败，错误码{err}", "电子票据开具成功但没有签章"),
     ("单位签章证书过期，已指导在UKey管理工具中更新证书后重新开票。",
      "签章服务器当时繁忙，已重新发起签章，票据状态正常。")),
    ("changzhou", EBILL, "票据开具", "咨询", 2,
     ("同一缴款人能否合并开具一张电子票据",),
     ("同一缴款人同一业务可以合并开具，最多{n}个项目明细。",)),
    ("changzhou", EBILL, "票据冲红", "咨询", 6,
     ("电子票据开具后如何冲红", "开错抬头的电子票据怎么作废重开", "票号{no}金额开错了，怎么处理"),
     ("电子票据不能作废，需在票据冲红中选择原票据开具红字票据，再重新开具正确票据。",)),
    ("changzhou", EBILL, "票据冲红", "故障报修", 2,
     ("冲红时提示“原票据已入账，不允许冲红”",),
     ("原票据已被受票方入账报销，需受票方先退回入账，再办理冲红。",)),
    ("changzhou", EBILL, "票据查验", "咨询", 3,
     ("缴款人说在查验平台查不到票据，票号{no}", "电子票据查验显示“票据不存在”"),
     ("票据开具后需上传财政端，约{n}分钟后可查验，已核实上传成功。",)),
    ("changzhou", EBILL, "票据领用", "咨询", 2,
     ("单位申领电子票据号段的流程", "申领的号段审核到哪一步了"),
     ("在票据领用中提交申领，财政票据管理科审核后自动分配号段。",)),
    ("changzhou", EBILL, "电子票据交付", "故障报修", 3,
     ("电子票据短信发送失败，缴款人没收到", "缴款人邮箱收不到电子票据"),
     ("手机号填写有误，已更正并重新推送；也可让缴款人扫描告知单二维码获取。",
      "邮件被对方邮箱拦截为垃圾邮件，已请缴款人查看垃圾箱并补发。")),
    # 工资统发系统
    ("changzhou", SALARY, "银行代发", "故障报修", 5,
     ("银行代发文件导出失败提示E1003", "导出{bank}代发文件时报错E1003"),
     ("E1003为人员银行账号为空，已在人员信息中补全{n}名人员的银行账号后导出成功。",)),
    ("changzhou", SALARY, "银行代发", "故障报修", 2,
     ("代发文件上传银行后提示格式错误",),
     ("{bank}已更新代发模板，已在系统设置中切换为新版模板后重新导出。",)),
    ("changzhou", SALARY, "工资编制", "咨询", 3,
     ("{month}月工资新增人员后如何补发上月工资", "工资编制中新增的津贴项目不显示"),
     ("在工资编制中新增补发项目，录入补发月份和金额，随本月一并发放。",
      "新增项目需在工资项目设置中勾选显示并保存模板。")),
    ("changzhou", SALARY, "工资编制", "故障报修", 2,
     ("工资编制保存时提示“数据已被锁定”",),
     ("本月工资已提交审核处于锁定状态，已请审核人退回后再修改。",)),
    ("changzhou", SALARY, "工资审核", "咨询", 2,
     ("工资审核退回后原因在哪里看",),
     ("在工资审核的审核记录页签中查看退回意见。",)),
    ("changzhou", SALARY, "个税申报", "咨询", 2,
     ("个税申报导出的数据与工资表合计不一致",),
     ("存在免税补贴项目，导出时已按规定扣除，差额为免税部分。",)),
    ("changzhou", SALARY, "个税申报", "故障报修", 2,
     ("个税申报文件导入自然人电子税务局提示格式不正确",),
     ("税务局接口模板已更新，已升级个税导出插件到最新版本。",)),
    ("changzhou", SALARY, "人员信息", "咨询", 2,
     ("人员调入调出后如何变更统发单位", "退休人员怎么从工资统发中减员"),
     ("调出单位在人员信息中办理调出，调入单位接收后即可纳入本单位统发。",
      "在人员信息中办理减员，选择减员原因为退休，次月起不再发放。")),
    ("changzhou", SALARY, "人员信息", "需求建议", 1,
     ("希望人员信息能批量导入身份证号",),
     ("已记录需求，反馈给厂商评估，目前可使用模板批量导入。",)),
    # 财政一体化信息管理系统
    ("changzhou", GFMIS, "年度结转", "故障报修", 4,
     ("年度结转时提示指标余额结转失败", "{year}年度结转后上年未支付的指标在哪里查"),
     ("结转需先完成上年度支付清算；已核实有{n}笔在途支付，清算后重新结转成功。",
      "结转指标在指标管理-结转指标中查看，指标类型为上年结转。")),
    ("changzhou", GFMIS, "预算管理", "咨询", 3,
     ("部门预算编制时项目库里找不到项目", "预算调整怎么录入"),
     ("项目需先在项目库中申报并审核入库，入库后才能编入预算。",
      "在预算管理-预算调整中新增调整单，填写调整依据后送审。")),
    ("changzhou", GFMIS, "预算管理", "故障报修", 1,
     ("预算编制报表打印时空白",),
     ("浏览器拦截了报表插件弹窗，已设置允许后正常打印。",)),
    ("changzhou", GFMIS, "指标管理", "咨询", 2,
     ("指标调剂申请提交后多久生效",),
     ("指标调剂需业务科室和预算科审核，审核通过后即时生效。",)),
    ("changzhou", GFMIS, "国库支付", "故障报修", 4,
     ("支付凭证发送银行后一直显示“待回单”", "支付申请提示“用款计划不足”"),
     ("银行回单接口延迟，已联系代理银行重推回单，状态已更新。",
      "本月用款计划已用完，需申请追加用款计划。")),
    ("changzhou", GFMIS, "国库支付", "咨询", 2,
     ("直接支付和授权支付怎么选",),
     ("按资金性质和金额确定，{amount}元以上的政府采购项目通常走直接支付。",)),
    ("changzhou", GFMIS, "会计核算", "咨询", 2,
     ("会计核算中如何反结账到上月",),
     ("在期末处理中选择反结账，需要主管权限，已指导操作。",)),
    ("changzhou", GFMIS, "会计核算", "故障报修", 2,
     ("凭证保存时提示科目未启用", "记账凭证断号怎么处理"),
     ("该科目在基础数据中未启用，已协助启用后保存成功。",
      "已指导使用凭证整理功能重排凭证号。")),
    # 财政票据管理系统（湛江）
    ("zhanjiang", BILLS, "核销销毁", "故障报修", 6,
     ("票据核销时提示号段不连续", "核销{year}年度票据时提示号段{code}不连续"),
     ("中间有{n}份票据未登记使用情况，已指导补录作废票据后核销成功。",)),
    ("zhanjiang", BILLS, "核销销毁", "咨询", 3,
     ("过期纸质票据如何申请销毁", "核销申请被退回，原因是缺少附件"),
     ("在核销销毁中提交销毁申请并附清单，经票据管理科审批后统一销毁。",
      "需上传票据使用情况表扫描件，已指导补传后重新提交。")),
    ("zhanjiang", BILLS, "核销销毁", "故障报修", 2,
     ("核销提交后审核人看不到待办",),
     ("审核人角色未配置核销审核权限，已在系统管理中补授权限。",)),
    ("zhanjiang", BILLS, "计划和印制", "咨询", 2,
     ("下一年度票据印制计划什么时候上报",),
     ("每年{month}月底前在计划和印制模块上报下年度印制计划。",)),
    ("zhanjiang", BILLS, "票据发放管理", "咨询", 3,
     ("单位领购票据需要带哪些材料", "票据领购证年审怎么办理"),
     ("需携带票据领购证、经办人身份证和上次票据使用情况表。",
      "在票据发放管理中提交年审申请，带领购证到票据管理科窗口办理。")),
    ("zhanjiang", BILLS, "票据发放管理", "故障报修", 2,
     ("发放票据时提示“单位领购证已过期”",),
     ("领购证年审未完成，需先办理年审后再发放。",)),
    ("zhanjiang", BILLS, "库存管理", "故障报修", 2,
     ("库存数量与实物不符，系统多出{n}本",),
     ("有一笔退票未做入库冲减，已协助做库存调整。",)),
    ("zhanjiang", BILLS, "库存管理", "咨询", 2,
     ("如何查询本单位票据库存",),
     ("在库存管理-库存查询中按票据种类查询。",)),
    ("zhanjiang", BILLS, "统计报表", "咨询", 2,
     ("票据使用情况统计表如何按月份导出",),
     ("在统计报表中选择月份区间后导出Excel。",)),
    ("zhanjiang", BILLS, "统计报表", "故障报修", 1,
     ("统计报表导出Excel时乱码",),
     ("使用了旧版WPS，已建议用Excel打开或选择导出为xlsx格式。",)),
    ("zhanjiang", BILLS, "系统设置管理", "咨询", 1,
     ("如何新增票据种类",),
     ("票据种类由票据管理科在系统设置管理中维护，已告知提交申请。",)),
    ("zhanjiang", BILLS, "系统管理", "咨询", 2,
     ("新来的票据管理员怎么开账号",),
     ("单位提交账号申请表，由系统管理员在系统管理中开通并分配角色。",)),
    ("zhanjiang", BILLS, "系统管理", "故障报修", 3,
     ("用户被锁定，提示密码错误次数过多",),
     ("已在系统管理中解锁账号并重置密码，提醒首次登录后修改。",)),
    # any site, any system
    ("", "", "", "故障报修", 8,
     ("UKey登录失败，提示“未检测到证书”", "插入UKey后登录页面没反应", "UKey登录提示证书已过期"),
     ("UKey驱动未安装或版本过旧，已远程协助重新安装驱动后登录正常。",
      "UKey管理服务未启动，已远程协助启动服务并设为自动，登录正常。",
      "证书已过期，已告知到CA服务网点办理证书更新。")),
    ("", "", "", "咨询", 2,
     ("UKey密码忘记了怎么办",),
     ("UKey密码锁定需到CA机构解锁，已告知CA服务电话和网点地址。",)),
    ("", "", "", "故障报修", 5,
     ("登录时报错ORA-12541: TNS:无监听程序", "系统提示ORA-12541，无法连接数据库"),
     ("数据库服务器监听服务停止，已通知机房重启监听，恢复正常。",)),
    ("", "", "", "故障报修", 2,
     ("保存时报错ORA-00054: 资源正忙", "查询时提示ORA-12170: TNS:连接超时"),
     ("有未提交的事务占用记录，已请相关用户退出后重试成功。",
      "单位网络到财政专网不通，已协助排查网络后恢复。")),
    ("", "", "", "故障报修", 4,
     ("页面打开空白，用的是{browser}", "点击菜单没有反应，浏览器是{browser}"),
     ("系统需使用兼容模式，已指导切换为推荐浏览器的兼容模式后正常。",
      "浏览器缓存异常，已指导清除缓存后重新登录。")),
    ("", "", "", "故障报修", 2,
     ("打印时票据位置偏移", "打印出来的票据字压线"),
     ("已指导在打印设置中调整上边距和左边距（各{n}毫米）。",)),
    ("", "", "", "咨询", 4,
     ("忘记登录密码，如何重置", "新来的会计怎么开通账号"),
     ("已核实身份后重置为初始密码，请登录后立即修改。",
      "单位管理员在用户管理中新增用户并分配角色即可。")),
    ("", "", "", "故障报修", 2,
     ("系统访问很慢，经常超时",),
     ("单位专网出口带宽占满，建议联系网络运营商排查；系统端运行正常。",)),
    ("", "", "", "咨询", 2,
     ("新调入的会计看不到菜单", "提示“没有该功能的权限”"),
     ("账号未分配对应角色，已通知单位管理员分配角色。",)),
    ("", "", "", "故障报修", 2,
     ("提示“控件未安装”，无法读取UKey",),
     ("已远程安装控件并将网站加入可信站点。",)),
    ("", "", "", "故障报修", 1,
     ("误删了一条记录能否恢复",),
     ("需厂商后台恢复数据，已登记工单并告知处理时限。",)),
    ("", "", "", "需求建议", 2,
     ("建议增加批量打印功能", "希望查询结果能导出全部明细", "建议登录页增加密码找回功能"),
     ("已记录需求并反馈厂商，纳入后续版本评估。",)),
    ("", "", "", "投诉", 1,
     ("热线打了几次都没人接，意见很大", "系统升级没有提前通知，影响了单位报销"),
     ("已致歉，说明当时线路繁忙，已安排专人回访。",
      "已致歉并反馈，后续升级将提前三天发布通知。")),
    ("", "", "", "其他", 2,
     ("咨询本季度系统操作培训时间", "询问下周系统升级期间能否正常使用"),
     ("本季度培训安排在{month}月，届时会发通知。",
      "升级期间暂停服务约{n}小时，请提前安排业务。")),
)
# fmt: on

QUESTION_PREFIXES = ("", "", "", "", "单位反映：", "来电咨询：", "{unit}来电，", "财务人员反映", "用户称")
QUESTION_SUFFIXES = (
    "",
    "",
    "",
    "",
    "，比较着急。",
    "，已重启电脑仍不行。",
    "，换了浏览器也一样。",
    "，昨天还正常。",
    "，请尽快处理。",
    "，其他同事电脑正常。",
)
TRANSFER_ANSWERS = (
    "问题涉及后台数据，已转{to}处理。",
    "已转接{to}，由其直接答复。",
    "超出热线处理范围，已转{to}跟进。",
)
TICKET_ANSWERS = (
    "已登记工单GD{no}，等待厂商排查后回复。",
    "需厂商后台处理，已派单，预计{n}个工作日内完成。",
    "已截图收集错误信息并派单给二线工程师。",
)
CALLBACK_ANSWERS = (
    "需查询后台日志，已约定今天下班前回电。",
    "需与业务科室确认政策口径后回访来电人。",
    "来电人正在外出，约定明天上午回电。",
)
BANKS = ("中国银行", "工商银行", "建设银行", "农业银行", "江苏银行", "农商银行", "邮储银行")
BROWSERS = ("360安全浏览器", "IE11", "Chrome", "Edge", "奇安信浏览器")
ERROR_CODES = ("E1003", "E2001", "E0102", "E3005", "E4012", "9001", "-1", "0x80070005")


def question_template_count() -> int:
    """How many distinct question texts the topics hold (before prefixes, suffixes and placeholders)."""
    return sum(len(topic[5]) for topic in TOPICS)


# --- generation -----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Org:
    id: str
    name: str
    site: int
    kind: OrgKind
    office: tuple[str, str]  # (raw, key)


@dataclass(slots=True)
class _Contact:
    id: str
    name: str
    org: int
    phones: tuple[tuple[str, str], ...]  # (raw, key)


@dataclass(slots=True)
class _SiteRef:
    code: str
    id: str
    area: str
    systems: list[tuple[str, str, list[tuple[str, str]]]]  # (system id, name, [(module id, name)])


@dataclass(slots=True)
class _CompiledTopic:
    site: int  # -1 = any
    system: int  # index into the site's systems, -1 = any
    module: str  # module id, "" = any/none
    category_id: str
    category: str
    questions: tuple[tuple[str, tuple[str, ...]], ...]  # (template, placeholder names)
    answers: tuple[tuple[str, tuple[str, ...]], ...]


def _placeholders(template: str) -> tuple[str, ...]:
    return tuple(name for _lit, name, _spec, _conv in string.Formatter().parse(template) if name)


class _Phones:
    """Phone numbers parsed once each (``parse_phone`` is the slow part of a contact)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._keys: dict[tuple[str, str], str] = {}

    def parsed(self, canonical: str, area: str, raw: str) -> tuple[str, str]:
        cache_key = (canonical, area)
        key = self._keys.get(cache_key)
        if key is None:
            key = parse_phone(canonical, area).key[:64]
            self._keys[cache_key] = key
        return raw, key

    def mobile(self, area: str) -> tuple[str, str]:
        rng = self.rng
        number = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        style = rng.random()
        if style < 0.7:
            raw = number
        elif style < 0.9:
            raw = f"{number[:3]} {number[3:7]} {number[7:]}"
        else:
            raw = f"{number[:3]}-{number[3:7]}-{number[7:]}"
        return self.parsed(number, area, raw)

    def landline(self, area: str, extension: str = "") -> tuple[str, str]:
        rng = self.rng
        local = (
            f"8{rng.randrange(10**7):07d}"
            if area == "0519"
            else f"{rng.choice('23')}{rng.randrange(10**6):06d}"
        )
        return self.office_variant(area, local, extension)

    def office_variant(self, area: str, local: str, extension: str = "") -> tuple[str, str]:
        style = self.rng.random()
        if style < 0.7:
            raw = f"{area}-{local}"
        elif style < 0.85:
            raw = f"{area} {local[:-4]} {local[-4:]}"
        else:
            raw = f"({area}){local}"
        if extension:
            raw += f"转{extension}"
        return self.parsed(f"{area}-{local}", area, raw)


def _unit_pool(site_code: str) -> tuple[list[tuple[OrgKind, str]], list[tuple[OrgKind, str]]]:
    """(named units, generated units) of a site; names are unique within the site."""
    named = [(kind, name) for kind, names in NAMED_UNITS[site_code] for name in names]
    generated: list[tuple[OrgKind, str]] = []
    for district in DISTRICTS[site_code]:
        generated.extend((kind, pattern.format(d=district)) for kind, pattern in DISTRICT_UNITS)
    for town in TOWNS[site_code]:
        generated.extend((kind, pattern.format(t=town)) for kind, pattern in TOWN_UNITS)
    for n in range(1, 36):
        word = _chinese_number(n)
        generated.append((OrgKind.BILL_UNIT, f"{CITY[site_code]}市第{word}中学"))
        generated.append((OrgKind.BILL_UNIT, f"{CITY[site_code]}市第{word}小学"))
    seen = {name for _kind, name in named}
    unique = [(kind, name) for kind, name in dict.fromkeys(generated) if name not in seen]
    return named, unique


def _chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 21 → 二十一 (for 1 <= n < 100)."""
    digits = "零一二三四五六七八九"
    tens, ones = divmod(n, 10)
    if tens == 0:
        return digits[ones]
    return (digits[tens] if tens > 1 else "") + "十" + (digits[ones] if ones else "")


def _hlc_columns(ctx: AppContext) -> tuple[str, Callable[[], str]]:
    return ctx.db.node_id, ctx.db.clock.now


class _Generator:
    def __init__(self, ctx: AppContext, seed: int) -> None:
        self.ctx = ctx
        self.rng = random.Random(seed)
        self.phones = _Phones(self.rng)
        self.sites: list[_SiteRef] = []
        self.categories: dict[str, str] = {}
        self.orgs: list[_Org] = []
        self.contacts: list[_Contact] = []
        self.phone_rows = 0
        self.topic_weights: list[list[int]] = []

    # reference data ----------------------------------------------------------------------------------

    def load_reference(self) -> None:
        with self.ctx.db.session() as session:
            by_code = {s.code: s for s in list_sites(session, include_inactive=True)}
            for code in SITE_SHARE:
                site = by_code.get(code) or session.scalar(select(Site).where(Site.code == code))
                if site is None:
                    raise RuntimeError(f"seeded site {code!r} is missing")
                systems = [
                    (system.id, system.name, [(m.id, m.name) for m in list_modules(session, system.id)])
                    for system in list_systems(session, site.id)
                ]
                self.sites.append(_SiteRef(code, site.id, site.area_code or "0519", systems))
            self.categories = {c.name: c.id for c in list_categories(session, include_inactive=True)}

    def compile_topics(self) -> list[list[_CompiledTopic]]:
        """Per site, the topics that can occur there, with names resolved to ids."""
        per_site: list[list[_CompiledTopic]] = [[] for _ in self.sites]
        weights: list[list[int]] = [[] for _ in self.sites]
        for site_code, system_name, module_name, category, weight, questions, answers in TOPICS:
            for site_index, site in enumerate(self.sites):
                if site_code and site_code != site.code:
                    continue
                system_index, module_id = -1, ""
                if system_name:
                    names = [name for _id, name, _mods in site.systems]
                    if system_name not in names:
                        continue  # the site's reference data was edited: skip the topic
                    system_index = names.index(system_name)
                    if module_name:
                        modules = dict((name, mid) for mid, name in site.systems[system_index][2])
                        module_id = modules.get(module_name, "")
                per_site[site_index].append(
                    _CompiledTopic(
                        site_index,
                        system_index,
                        module_id,
                        self.categories.get(category) or next(iter(self.categories.values())),
                        category,
                        tuple((q, _placeholders(q)) for q in questions),
                        tuple((a, _placeholders(a)) for a in answers),
                    )
                )
                weights[site_index].append(weight)
        self.topic_weights = [_cumulative(w) for w in weights]
        return per_site

    # organisations and contacts ------------------------------------------------------------------

    def make_directory(self, contacts: int) -> None:
        rng = self.rng
        wanted = max(6, contacts // 15)
        for site_index, site in enumerate(self.sites):
            named, generated = _unit_pool(site.code)
            rng.shuffle(named)
            rng.shuffle(generated)
            count = max(3, round(wanted * SITE_SHARE[site.code]))
            for kind, name in (named + generated)[:count]:
                local = (
                    f"8{rng.randrange(10**7):07d}" if site.area == "0519" else f"2{rng.randrange(10**6):06d}"
                )
                office = self.phones.office_variant(site.area, local)
                self.orgs.append(_Org(uuid7(), name, site_index, kind, office))
        for index in range(contacts):
            org_index = index if index < len(self.orgs) else rng.randrange(len(self.orgs))
            org = self.orgs[org_index]
            area = self.sites[org.site].area
            name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN_CHARS, k=1 if rng.random() < 0.3 else 2))
            phones = [self._office_phone(org, area)] if rng.random() < 0.55 else []
            if not phones or rng.random() < 0.55:
                phones.insert(0, self.phones.mobile(area))
            if rng.random() < 0.12:
                phones.append(self.phones.mobile(area))
            self.contacts.append(_Contact(uuid7(), name, org_index, tuple(dict.fromkeys(phones))))

    def _office_phone(self, org: _Org, area: str) -> tuple[str, str]:
        style = self.rng.random()
        if style < 0.35:
            return org.office  # the unit's shared office number
        if style < 0.45:
            local = "".join(ch for ch in org.office[0].split("转")[0] if ch.isdigit())[len(area) :]
            return self.phones.office_variant(area, local, f"{self.rng.randrange(8000, 8999)}")
        return self.phones.landline(area)

    def write_directory(self, cursor: Any) -> None:
        origin, stamp = _hlc_columns(self.ctx)
        cursor.executemany(
            "INSERT INTO organisations (id, site_id, name, kind, notes, merged_into, origin, hlc, "
            "server_version, deleted) VALUES (?, ?, ?, ?, '', NULL, ?, ?, NULL, 0)",
            [(o.id, self.sites[o.site].id, o.name, o.kind.value, origin, stamp()) for o in self.orgs],
        )
        contact_rows = []
        phone_rows = []
        labels = ("手机", "办公电话", "备用电话")
        for contact in self.contacts:
            org = self.orgs[contact.org]
            title = self.rng.choice(TITLES[org.kind])
            contact_rows.append((contact.id, org.id, contact.name, title, origin, stamp()))
            for position, (raw, key) in enumerate(contact.phones):
                extension = raw.split("转")[1] if "转" in raw else ""
                label = labels[0] if raw.replace(" ", "").replace("-", "")[:1] == "1" else labels[1]
                if position == 2:
                    label = labels[2]
                phone_rows.append((uuid7(), contact.id, raw, key, extension, label, origin, stamp()))
        for start in range(0, len(contact_rows), BATCH_ROWS):
            cursor.executemany(
                "INSERT INTO contacts (id, org_id, name, title, notes, merged_into, origin, hlc, "
                "server_version, deleted) VALUES (?, ?, ?, ?, '', NULL, ?, ?, NULL, 0)",
                contact_rows[start : start + BATCH_ROWS],
            )
        for start in range(0, len(phone_rows), BATCH_ROWS):
            cursor.executemany(
                "INSERT INTO contact_phones (id, contact_id, raw, key, extension, label, origin, hlc, "
                "server_version, deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, 0)",
                phone_rows[start : start + BATCH_ROWS],
            )
        self.phone_rows = len(phone_rows)

    # calls -------------------------------------------------------------------------------------------

    def timestamps(self, count: int, months: int) -> list[int]:
        """``count`` distinct call times (epoch ms), ascending, mostly in office hours on working days."""
        rng = self.rng
        today = dt.datetime.now(LOCAL_TZ).date()
        first = today - dt.timedelta(days=max(1, round(months * 30.44)))
        days: list[int] = []
        weights: list[float] = []
        day = first
        while day < today:  # up to yesterday: no call lies in the future
            midnight = dt.datetime.combine(day, dt.time(), tzinfo=LOCAL_TZ)
            days.append(int(midnight.timestamp()) * 1000)
            weight = 1.0 if day.weekday() < 5 else (0.06 if day.weekday() == 5 else 0.03)
            if day.month in (12, 1):
                weight *= 1.3  # year-end closing and year-start: busier
            weights.append(weight)
            day += dt.timedelta(days=1)
        chosen = rng.choices(days, cum_weights=_cumulative_float(weights), k=count)
        random_ = rng.random
        hour = 3_600_000
        stamps = []
        for midnight_ms in chosen:
            r = random_()
            if r < 0.46:
                offset = 8.5 * hour + random_() * 3.25 * hour  # 08:30-11:45
            elif r < 0.93:
                offset = 13.5 * hour + random_() * 4.0 * hour  # 13:30-17:30
            else:
                offset = 7.0 * hour + random_() * 14.5 * hour  # early, lunch or evening
            stamps.append(midnight_ms + int(offset))
        stamps.sort()
        for i in range(1, len(stamps)):
            if stamps[i] <= stamps[i - 1]:
                stamps[i] = stamps[i - 1] + 1
        return stamps

    def write_calls(
        self,
        connection: Any,
        stamps: Sequence[int],
        topics: list[list[_CompiledTopic]],
        progress: ProgressCallback | None,
    ) -> int:
        rng = self.rng
        random_ = rng.random
        choice = rng.choice
        randrange = rng.randrange
        origin, stamp = _hlc_columns(self.ctx)
        contacts = self.contacts
        n_contacts = len(contacts)
        orgs = self.orgs
        sites = self.sites
        unknown_pool = self._unknown_callers(len(stamps))
        engineers = [ENGINEERS.get(s.code, ("张工",)) for s in sites]
        transfer_targets = [TRANSFER_TARGETS.get(s.code, ("二线支持",)) for s in sites]
        site_topics = topics
        topic_weights = self.topic_weights
        fillers = _Fillers(rng)
        bodies = _IndexBodies()
        utc_text = _UtcText().text
        body = bodies.body
        total = len(stamps)
        cursor = connection.cursor()
        written = 0
        last_key = -1
        call_sql = (
            "INSERT INTO calls (key, id, site_id, started_at, duration_s, engineer, caller_name, "
            "caller_phone, caller_key, contact_id, org_id, unit_name, system_id, module_id, category_id, "
            "question, answer, outcome, transferred_to, revision, updated_at, origin, hlc, server_version, "
            "deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, NULL, 0)"
        )
        fts_sql = "INSERT INTO calls_fts(rowid, body) VALUES (?, ?)"
        for start in range(0, total, BATCH_ROWS):
            batch = stamps[start : start + BATCH_ROWS]
            taken = _taken_keys(cursor, batch[0], batch[-1])
            call_rows = []
            fts_rows = []
            for ms in batch:
                started = EPOCH + dt.timedelta(milliseconds=ms)
                key, last_key = _next_key(call_key_floor(started), last_key, taken)
                # who calls
                contact_id: str | None
                org_id: str | None
                if random_() < 0.88:
                    contact = contacts[int(n_contacts * random_() ** 1.5)]
                    org = orgs[contact.org]
                    raw, caller_key = choice(contact.phones)
                    caller_name, contact_id, org_id, unit_name = contact.name, contact.id, org.id, org.name
                    site_index = org.site
                else:
                    raw, caller_key, caller_name, unit_name, site_index = choice(unknown_pool)
                    contact_id = org_id = None
                site = sites[site_index]
                # what about
                topic = site_topics[site_index][
                    _pick(topic_weights[site_index], random_() * topic_weights[site_index][-1])
                ]
                if topic.system >= 0:
                    system_id, _system_name, modules = site.systems[topic.system]
                else:
                    system_id, _system_name, modules = choice(site.systems)
                module_id: str | None = topic.module
                if not module_id:
                    module_id = choice(modules)[0] if modules and random_() < 0.5 else None
                fillers.unit = unit_name or "本单位"
                variant = randrange(len(topic.questions))
                question = fillers.fill(*topic.questions[variant])
                prefix = choice(QUESTION_PREFIXES)
                if prefix:
                    question = prefix.format(unit=fillers.unit) + question
                question += choice(QUESTION_SUFFIXES)
                # how it ended
                r = random_()
                fault = topic.category == "故障报修"
                transferred_to = ""
                if r < (0.68 if fault else 0.85):
                    outcome = Outcome.ANSWERED.value
                    # Answers listed one per question variant belong to it; otherwise any fits.
                    paired = len(topic.answers) == len(topic.questions)
                    answer = fillers.fill(*(topic.answers[variant] if paired else choice(topic.answers)))
                    duration = _duration(rng, 5.2)
                elif r < (0.78 if fault else 0.91):
                    outcome = Outcome.TRANSFERRED.value
                    transferred_to = choice(transfer_targets[site_index])
                    answer = choice(TRANSFER_ANSWERS).format(to=transferred_to)
                    duration = _duration(rng, 4.6)
                elif r < (0.92 if fault else 0.95):
                    outcome = Outcome.TICKET.value
                    answer = fillers.fill(choice(TICKET_ANSWERS), ("no", "n"))
                    duration = _duration(rng, 5.6)
                else:
                    outcome = Outcome.CALLBACK.value
                    answer = choice(CALLBACK_ANSWERS)
                    duration = _duration(rng, 4.9)
                engineer = choice(engineers[site_index])
                call_rows.append(
                    (
                        key,
                        uuid7(),
                        site.id,
                        utc_text(ms),
                        duration,
                        engineer,
                        caller_name,
                        raw,
                        caller_key,
                        contact_id,
                        org_id,
                        unit_name,
                        system_id,
                        module_id,
                        topic.category_id,
                        question,
                        answer,
                        outcome,
                        transferred_to,
                        utc_text(ms + duration * 1000),
                        origin,
                        stamp(),
                    )
                )
                words = body(caller_name, raw, unit_name, question, answer, transferred_to)
                facets = calls_service.facet_tokens(
                    site.id, system_id, module_id, topic.category_id, outcome, org_id, engineer
                )
                fts_rows.append((key, f"{words} {facets}"))
            cursor.executemany(call_sql, call_rows)
            cursor.executemany(fts_sql, fts_rows)
            connection.commit()
            written += len(call_rows)
            if progress is not None:
                progress(written, total)
        cursor.close()
        return written

    def _unknown_callers(self, calls: int) -> list[tuple[str, str, str, str, int]]:
        """Numbers that are not in the directory: (raw, key, name, unit text, site index)."""
        rng = self.rng
        pool = []
        for _ in range(max(10, min(5000, calls // 50))):
            site_index = 0 if rng.random() < SITE_SHARE[self.sites[0].code] else len(self.sites) - 1
            area = self.sites[site_index].area
            raw, key = self.phones.mobile(area) if rng.random() < 0.7 else self.phones.landline(area)
            style = rng.random()
            name = rng.choice(SURNAMES) + ("先生" if style < 0.4 else "女士") if style < 0.8 else ""
            unit = rng.choice(self.orgs).name if rng.random() < 0.3 else ""
            pool.append((raw, key, name, unit, site_index))
        return pool


class _Fillers:
    """Values for the placeholders of the question and answer templates."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.unit = ""
        year = dt.date.today().year
        self.years = (str(year - 1), str(year))

    def value(self, name: str) -> str:
        rng = self.rng
        if name == "no":
            return f"{rng.randrange(10**7, 10**8)}"
        if name == "code":
            return f"{rng.choice(('4401', '4408'))}{rng.randrange(10**4):04d}"
        if name == "n":
            return str(rng.randint(2, 30))
        if name == "month":
            return str(rng.randint(1, 12))
        if name == "year":
            return rng.choice(self.years)
        if name == "amount":
            return f"{rng.randint(1, 99999)}.{rng.randint(0, 99):02d}"
        if name == "bank":
            return rng.choice(BANKS)
        if name == "browser":
            return rng.choice(BROWSERS)
        if name == "err":
            return rng.choice(ERROR_CODES)
        if name == "unit":
            return self.unit
        raise KeyError(name)

    def fill(self, template: str, names: tuple[str, ...]) -> str:
        if not names:
            return template
        return template.format_map({name: self.value(name) for name in names})


class _IndexedFields:
    """The fields ``calls.call_index_body`` reads, without the cost of an ORM object per call."""

    __slots__ = ("answer", "caller_name", "caller_phone", "question", "transferred_to", "unit_name")

    def __init__(self) -> None:
        self.caller_name = self.caller_phone = self.unit_name = ""
        self.question = self.answer = self.transferred_to = ""


class _IndexBodies:
    """The words of each demo call's full-text row: exactly what ``calls.call_text_body`` makes of it
    (the facet tokens are appended by the caller, as ``calls.call_index_body`` does).

    It must be exact: editing a call first deletes its old row, and a contentless FTS5 table can only
    delete a row given its exact text. Tokenizing is the costly part of a demo call, though, and names,
    numbers, units and answers repeat, so the fast path tokenizes each field once and joins the cached
    tokens — right as long as the service indexes these fields, in this order, each on its own (what
    ``index_text`` of several parts does). The fast path is checked against the service on the first
    ``CHECK_FIRST`` calls and then on every ``CHECK_EVERY``-th; on any difference the rest of the run
    uses the service's function itself (slower, never wrong).
    """

    CHECK_FIRST = 200
    CHECK_EVERY = 500
    CACHE_LIMIT = 200_000

    def __init__(self) -> None:
        self._fields = _IndexedFields()
        self._tokens: dict[str, str] = {}
        self._count = 0
        self.exact_only = False

    def _part(self, text: str) -> str:
        tokens = self._tokens.get(text)
        if tokens is None:
            if len(self._tokens) >= self.CACHE_LIMIT:
                self._tokens.clear()  # texts with numbers in them rarely repeat: start afresh
            tokens = self._tokens[text] = index_text(text)
        return tokens

    def _exact(
        self, name: str, phone: str, unit: str, question: str, answer: str, transferred_to: str
    ) -> str:
        fields = self._fields
        fields.caller_name, fields.caller_phone, fields.unit_name = name, phone, unit
        fields.question, fields.answer, fields.transferred_to = question, answer, transferred_to
        return calls_service.call_text_body(cast(Call, fields))

    def body(self, name: str, phone: str, unit: str, question: str, answer: str, transferred_to: str) -> str:
        if self.exact_only or len(question) > MAX_INDEX_PART_CHARS or len(answer) > MAX_INDEX_PART_CHARS:
            return self._exact(name, phone, unit, question, answer, transferred_to)
        digits = "".join(ch for ch in phone if ch.isdigit())
        part = self._part
        parts = (part(name), part(digits), part(phone), part(unit), part(question), part(answer))
        fast = " ".join(tokens for tokens in (*parts, part(transferred_to)) if tokens)
        self._count += 1
        if self._count <= self.CHECK_FIRST or self._count % self.CHECK_EVERY == 0:
            exact = self._exact(name, phone, unit, question, answer, transferred_to)
            if exact != fast:
                log.warning("demo index rows differ from calls.call_text_body; using the exact path")
                self.exact_only = True
                return exact
        return fast


class _UtcText:
    """``UTCDateTime``'s stored text of an epoch-ms moment, as ``isoformat(timespec="microseconds")``
    of the UTC datetime writes it, with the date part remembered (most calls share a day with others).
    """

    def __init__(self) -> None:
        self._days: dict[int, str] = {}

    def text(self, ms: int) -> str:
        day, in_day = divmod(ms, 86_400_000)
        date = self._days.get(day)
        if date is None:
            date = self._days[day] = (EPOCH + dt.timedelta(days=day)).date().isoformat()
        seconds, milli = divmod(in_day, 1000)
        minutes, second = divmod(seconds, 60)
        hour, minute = divmod(minutes, 60)
        return f"{date}T{hour:02d}:{minute:02d}:{second:02d}.{milli:03d}000+00:00"


def _duration(rng: random.Random, mu: float) -> int:
    return int(min(1200.0, max(30.0, rng.lognormvariate(mu, 0.7))))


def _cumulative(weights: Sequence[int]) -> list[int]:
    total, out = 0, []
    for weight in weights:
        total += weight
        out.append(total)
    return out


def _cumulative_float(weights: Sequence[float]) -> list[float]:
    total, out = 0.0, []
    for weight in weights:
        total += weight
        out.append(total)
    return out


def _pick(cumulative: Sequence[int], point: float) -> int:
    return min(bisect_right(cumulative, point), len(cumulative) - 1)


def _taken_keys(cursor: Any, first_ms: int, last_ms: int) -> dict[int, int]:
    """Bucket → highest key already used there, for calls the database has in this range."""
    low = first_ms * CALL_KEY_SLOTS - CALL_KEY_SLOTS
    high = (last_ms + 2) * CALL_KEY_SLOTS
    taken: dict[int, int] = {}
    for (key,) in cursor.execute("SELECT key FROM calls WHERE key >= ? AND key < ?", (low, high)):
        bucket = key - key % CALL_KEY_SLOTS
        taken[bucket] = max(taken.get(bucket, key), key)
    return taken


def _next_key(base: int, last_key: int, taken: dict[int, int]) -> tuple[int, int]:
    """The key ``calls._allocate_key`` would give a call in bucket ``base``: the first free slot.

    ``last_key`` is the key given to the previous (earlier or equal) demo call; returns (key, key).
    """
    while True:
        top = taken.get(base)
        if base <= last_key < base + CALL_KEY_SLOTS:
            top = last_key if top is None else max(top, last_key)
        key = base if top is None else top + 1
        if key < base + CALL_KEY_SLOTS:
            return key, key
        base += CALL_KEY_SLOTS  # a thousand calls in one millisecond: take the next one


def generate_demo(
    ctx: AppContext,
    calls: int,
    contacts: int,
    seed: int = 7,
    months: int = 12,
    progress: ProgressCallback | None = None,
) -> DemoSummary:
    """Add ``contacts`` contacts (with their units and numbers) and ``calls`` calls to the database.

    ``progress(done, total)`` is called after every committed batch of calls.
    """
    if calls < 0 or contacts < 1 or months < 1:
        raise ValueError("calls >= 0, contacts >= 1 and months >= 1 are required")
    began = time.perf_counter()
    generator = _Generator(ctx, seed)
    generator.load_reference()
    topics = generator.compile_topics()
    generator.make_directory(contacts)
    connection = ctx.db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        # Bulk load: a crash loses at most the current batch, which is fine for sample data.
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA cache_size = -262144")
        try:
            generator.write_directory(cursor)
            connection.commit()
            stamps = generator.timestamps(calls, months)
            written = generator.write_calls(connection, stamps, topics, progress)
        finally:
            connection.rollback()
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA cache_size = -32000")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.close()
    finally:
        connection.close()
    return DemoSummary(
        organisations=len(generator.orgs),
        contacts=len(generator.contacts),
        phones=generator.phone_rows,
        calls=written,
        seconds=time.perf_counter() - began,
    )
